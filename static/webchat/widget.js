/*! Kaleem webchat widget — vanilla JS, no build step, no third-party hosts.
 * Embed: <script src="https://HOST/static/webchat/widget.js" data-channel="PUBLIC_KEY" async></script>
 * API:   Kaleem.open() close() identify({id,name,email,hmac}) setLocale('ar'|'en') on('message', fn)
 * Every piece of untrusted text is written with textContent; links are built as elements and only
 * http(s) URLs become hrefs. The UI lives in a Shadow DOM so host CSS cannot reach it. */
(function () {
  "use strict";
  var w = window, d = document;
  var T0 = w.performance && performance.now ? performance.now() : 0;
  var prev = w.Kaleem;
  if (prev && prev._loaded) return;

  var script = d.currentScript;
  if (!script || !script.getAttribute("data-channel")) {
    script = d.querySelector("script[data-channel][src*='webchat/widget']");
  }
  if (!script) return;
  var KEY = script.getAttribute("data-channel");
  var ORIGIN = new URL(script.src, location.href).origin;
  var API = ORIGIN + "/api/webchat/v1/" + encodeURIComponent(KEY);
  var STORE = "kaleem:" + KEY + ":";

  // ---------- strings ----------
  var I18N = {
    ar: {
      open: "افتح المحادثة", close: "إغلاق", title: "المساعد", send: "إرسال", placeholder: "اكتب رسالتك…",
      typing: "يكتب الآن…", handoff: "جارٍ تحويلك إلى فريق المتجر…", human: "أنت تتحدث مع فريق المتجر",
      add: "أضف إلى السلة", details: "التفاصيل", instock: "متوفر", outstock: "غير متوفر", you: "أنت",
      assistant: "المساعد", agent: "الفريق", sending: "جارٍ الإرسال", sent: "أُرسلت", delivered: "وصلت",
      failed: "تعذّر الإرسال — اضغط لإعادة المحاولة", earlier: "رسائل سابقة", unread: "رسائل جديدة",
      lang: "English", langLabel: "Switch to English", offline: "تعذّر الاتصال، نحاول مجدداً…",
      forbidden: "المحادثة غير متاحة على هذا الموقع.", newmsg: "رسالة جديدة", products: "منتجات",
      addText: "أضف إلى السلة: ", detailsText: "تفاصيل: "
    },
    en: {
      open: "Open chat", close: "Close", title: "Assistant", send: "Send", placeholder: "Type your message…",
      typing: "typing…", handoff: "Connecting you to the team…", human: "You are chatting with the team",
      add: "Add to cart", details: "Details", instock: "In stock", outstock: "Out of stock", you: "You",
      assistant: "Assistant", agent: "Team", sending: "Sending", sent: "Sent", delivered: "Delivered",
      failed: "Not sent — tap to retry", earlier: "Earlier messages", unread: "new messages",
      lang: "العربية", langLabel: "التبديل إلى العربية", offline: "Connection lost, retrying…",
      forbidden: "Chat is not available on this site.", newmsg: "New message", products: "Products",
      addText: "Add to cart: ", detailsText: "Details: "
    }
  };

  // ---------- small helpers ----------
  function ls(k, v) {
    try {
      if (v === undefined) return w.localStorage.getItem(STORE + k);
      if (v === null) w.localStorage.removeItem(STORE + k); else w.localStorage.setItem(STORE + k, v);
    } catch (e) { /* storage disabled: session-only */ }
    return null;
  }
  function el(tag, cls, text) {
    var n = d.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = String(text);
    return n;
  }
  function attr(n, a) { for (var k in a) if (a.hasOwnProperty(k)) n.setAttribute(k, a[k]); return n; }
  function svg(path, size) {
    var ns = "http://www.w3.org/2000/svg", s = d.createElementNS(ns, "svg"), p = d.createElementNS(ns, "path");
    attr(s, { viewBox: "0 0 24 24", width: size || 24, height: size || 24, "aria-hidden": "true", focusable: "false" });
    attr(p, { d: path, fill: "currentColor" });
    s.appendChild(p);
    return s;
  }
  function safeUrl(u) {
    try {
      var x = new URL(String(u), location.href);
      return x.protocol === "http:" || x.protocol === "https:" ? x.href : null;
    } catch (e) { return null; }
  }
  function safeColour(c, dflt) { return /^#[0-9a-fA-F]{3,8}$/.test(c || "") ? c : dflt; }
  function uid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  var AR_RE = /[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/g;
  function textLang(t) {
    var s = String(t || ""), ar = (s.match(AR_RE) || []).length, lat = (s.match(/[A-Za-z]/g) || []).length;
    if (!ar && !lat) return null;
    return ar >= lat ? "ar" : "en";
  }
  var LINK_RE = /\bhttps?:\/\/[^\s<>"']+/g;
  // Text with clickable links: plain text nodes plus <a> elements, never parsed as HTML.
  function richText(parent, text) {
    var s = String(text || ""), last = 0, m;
    LINK_RE.lastIndex = 0;
    while ((m = LINK_RE.exec(s))) {
      var raw = m[0].replace(/[.,;:!?)\]]+$/, ""), href = safeUrl(raw);
      if (m.index > last) parent.appendChild(d.createTextNode(s.slice(last, m.index)));
      if (href) parent.appendChild(attr(el("a", "k-link", raw), { href: href, target: "_blank", rel: "noopener noreferrer" }));
      else parent.appendChild(d.createTextNode(raw));
      last = m.index + raw.length;
      LINK_RE.lastIndex = last;
    }
    if (last < s.length) parent.appendChild(d.createTextNode(s.slice(last)));
  }

  // ---------- state ----------
  var S = {
    token: ls("token"), conv: null, status: "bot", cfg: null, locale: null, manualLocale: ls("locale"),
    open: false, unread: 0, msgs: {}, order: [], cursor: null, hasMore: false, before: null,
    typingTimer: null, stream: null, streamFails: 0, pollTimer: null, listeners: {}, forbidden: false,
    pendingIdentity: null, started: false
  };
  function t(k) { return (I18N[S.locale] || I18N.ar)[k]; }
  function emit(name, arg) {
    (S.listeners[name] || []).slice().forEach(function (fn) { try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); } });
  }

  // ---------- HTTP ----------
  function req(method, path, body) {
    var h = { Accept: "application/json" };
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (S.token) h["X-Kaleem-Visitor"] = S.token;
    return fetch(API + path, {
      method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", mode: "cors", cache: "no-store"
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error((j.error && j.error.message) || r.status);
          e.status = r.status; e.body = j; e.retryAfter = +(r.headers.get("Retry-After") || 0);
          throw e;
        }
        return j;
      });
    });
  }

  // ---------- DOM ----------
  var host = d.createElement("div");
  host.id = "kaleem-webchat";
  // Inline style outranks host-page selectors such as `* { all: unset }`.
  host.setAttribute("style", "all:initial !important;position:fixed !important;z-index:2147483000 !important;inset:auto 0 0 auto !important;width:0 !important;height:0 !important;display:block !important");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = el("style");
  style.textContent = CSS();
  root.appendChild(style);

  var wrap = attr(el("div", "k-root"), { lang: "ar", dir: "rtl" });
  var launcher = attr(el("button", "k-launcher"), { type: "button", "aria-haspopup": "dialog", "aria-expanded": "false" });
  launcher.appendChild(svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z", 28));
  var badge = attr(el("span", "k-badge"), { hidden: "" });
  launcher.appendChild(badge);

  var panel = attr(el("section", "k-panel"), { role: "dialog", "aria-modal": "false", hidden: "" });
  var head = el("header", "k-head");
  var logo = attr(el("img", "k-logo"), { alt: "", hidden: "" });
  var titles = el("div", "k-titles");
  var title = attr(el("h2", "k-title"), { id: "k-title" });
  var subtitle = el("p", "k-sub");
  titles.appendChild(title); titles.appendChild(subtitle);
  var langBtn = attr(el("button", "k-lang"), { type: "button" });
  var closeBtn = attr(el("button", "k-close"), { type: "button" });
  closeBtn.appendChild(svg("M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z", 20));
  head.appendChild(logo); head.appendChild(titles); head.appendChild(langBtn); head.appendChild(closeBtn);
  var banner = attr(el("div", "k-banner"), { role: "status", hidden: "" });
  var log = attr(el("div", "k-log"), { role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
  var moreBtn = attr(el("button", "k-more"), { type: "button", hidden: "" });
  log.appendChild(moreBtn);
  var typing = attr(el("div", "k-typing"), { hidden: "" });
  typing.appendChild(el("span", "k-dot")); typing.appendChild(el("span", "k-dot")); typing.appendChild(el("span", "k-dot"));
  var typingLabel = el("span", "k-sr");
  typing.appendChild(typingLabel);
  var chips = attr(el("div", "k-chips"), { role: "group" });
  var form = el("form", "k-form");
  var input = attr(el("textarea", "k-input"), { rows: "1", maxlength: "4000", autocomplete: "off" });
  var sendBtn = attr(el("button", "k-send"), { type: "submit" });
  sendBtn.appendChild(svg("M3 20.5v-7l9-1.5-9-1.5v-7L22 12z", 20));
  form.appendChild(input); form.appendChild(sendBtn);
  panel.appendChild(head); panel.appendChild(banner); panel.appendChild(log); panel.appendChild(typing);
  panel.appendChild(chips); panel.appendChild(form);
  var announcer = attr(el("div", "k-sr"), { "aria-live": "polite", role: "status" });
  wrap.appendChild(panel); wrap.appendChild(launcher); wrap.appendChild(announcer);
  root.appendChild(wrap);

  function mount() {
    (d.body || d.documentElement).appendChild(host);
    if (!(w.performance && performance.mark)) return;
    performance.mark("kaleem-launcher-visible");
    api._metrics.t0 = T0;
    api._metrics.launcherMs = performance.now() - T0;
    // The frame after mounting is the first one that can show the launcher.
    if (w.requestAnimationFrame) requestAnimationFrame(function () { performance.mark("kaleem-launcher-painted"); });
  }

  // ---------- locale / theme ----------
  function applyLocale(loc, manual) {
    if (loc !== "ar" && loc !== "en") return;
    if (manual) { S.manualLocale = loc; ls("locale", loc); }
    S.locale = loc;
    attr(wrap, { lang: loc, dir: loc === "ar" ? "rtl" : "ltr" });
    var cfg = S.cfg || {};
    var name = cfg.name || t("title");
    title.textContent = name;
    attr(panel, { "aria-labelledby": "k-title" });
    subtitle.textContent = S.status === "human" ? t("human") : (cfg.subtitle && cfg.subtitle[loc]) || "";
    attr(launcher, { "aria-label": t("open") + (S.unread ? " (" + S.unread + " " + t("unread") + ")" : "") });
    attr(closeBtn, { "aria-label": t("close"), title: t("close") });
    langBtn.textContent = t("lang");
    attr(langBtn, { "aria-label": t("langLabel"), lang: loc === "ar" ? "en" : "ar" });
    attr(input, { placeholder: t("placeholder"), "aria-label": t("placeholder") });
    attr(sendBtn, { "aria-label": t("send"), title: t("send") });
    attr(chips, { "aria-label": t("products") });
    moreBtn.textContent = t("earlier");
    typingLabel.textContent = t("typing");
    renderBanner();
    if (S.greeting) greet(S.cfg);
    S.order.forEach(function (id) { var m = S.msgs[id]; if (m && m.node) renderMeta(m); });
  }
  function followLanguage(m) {
    if (S.manualLocale) return;
    var l = m.language || textLang(m.text);
    if (l && l !== S.locale) applyLocale(l, false);
  }
  function applyTheme(cfg) {
    var c = cfg.colours || cfg.colors || {};
    wrap.style.setProperty("--k-primary", safeColour(c.primary, "#0f766e"));
    wrap.style.setProperty("--k-on-primary", safeColour(c.on_primary, "#ffffff"));
    wrap.style.setProperty("--k-bubble", safeColour(c.bubble, "#f1f5f9"));
    var lu = cfg.logo && safeUrl(cfg.logo);
    if (lu) { logo.src = lu; logo.hidden = false; } else logo.hidden = true;
  }

  // ---------- rendering ----------
  function fmtTime(iso) {
    try {
      return new Intl.DateTimeFormat(S.locale === "ar" ? "ar-SA-u-nu-latn" : "en-GB", { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
    } catch (e) { return ""; }
  }
  function fmtPrice(p, cur) {
    var n = Number(p);
    if (!isFinite(n)) return String(p || "");
    try {
      return new Intl.NumberFormat(S.locale === "ar" ? "ar-SA-u-nu-latn" : "en-US", { style: "currency", currency: cur || "SAR" }).format(n);
    } catch (e) { return n.toFixed(2) + " " + (cur || ""); }
  }
  function renderMeta(m) {
    var meta = m.metaNode;
    meta.textContent = "";
    var time = attr(el("time", null, fmtTime(m.created_at)), { datetime: m.created_at || "" });
    meta.appendChild(time);
    if (m.direction === "in") {
      var st = m.state || "sent";
      var mark = el("span", "k-state k-state-" + st, st === "sending" ? "◷" : st === "failed" ? "!" : st === "delivered" ? "✓✓" : "✓");
      attr(mark, { title: t(st), "aria-label": t(st) });
      meta.appendChild(mark);
    } else if (m.sender === "agent") {
      meta.appendChild(el("span", "k-who", " · " + t("agent")));
    }
  }
  function productCard(p) {
    var card = attr(el("article", "k-card"), { "aria-label": String(p.title || "") });
    var src = p.image_url && safeUrl(p.image_url);
    var fig = el("div", "k-img");
    fig.appendChild(svg("M7 7V6a5 5 0 0 1 10 0v1h3l-1 14H5L4 7zm2 0h6V6a3 3 0 0 0-6 0z", 40));
    if (src) {
      var im = attr(el("img"), { src: src, alt: String(p.title || ""), loading: "lazy", decoding: "async" });
      im.addEventListener("error", function () { im.remove(); });
      fig.appendChild(im);
    }
    card.appendChild(fig);
    card.appendChild(el("h3", "k-ctitle", p.title || ""));
    var row = el("div", "k-crow");
    row.appendChild(el("span", "k-price", p.price != null ? fmtPrice(p.price, p.currency) : ""));
    var stock = p.in_stock !== false;
    row.appendChild(el("span", "k-stock " + (stock ? "k-in" : "k-out"), t(stock ? "instock" : "outstock")));
    card.appendChild(row);
    var acts = el("div", "k-cacts");
    var add = attr(el("button", "k-btn k-primary", t("add")), { type: "button" });
    if (!stock) add.disabled = true;
    add.addEventListener("click", function () {
      send(t("addText") + (p.title || ""), "cart:add:" + (p.id || ""));
    });
    acts.appendChild(add);
    var url = p.url && safeUrl(p.url);
    var det;
    if (url) det = attr(el("a", "k-btn", t("details")), { href: url, target: "_blank", rel: "noopener noreferrer" });
    else {
      det = attr(el("button", "k-btn", t("details")), { type: "button" });
      det.addEventListener("click", function () {
        send(t("detailsText") + (p.title || ""));
      });
    }
    acts.appendChild(det);
    card.appendChild(acts);
    return card;
  }
  function renderMessage(m) {
    var row = el("div", "k-msg " + (m.direction === "in" ? "k-me" : "k-them") + (m.sender === "agent" ? " k-agent" : ""));
    row.setAttribute("data-id", m.id || m.client_id);
    var who = el("span", "k-sr", (m.direction === "in" ? t("you") : m.sender === "agent" ? t("agent") : t("assistant")) + ": ");
    var bubble = el("div", "k-bubble");
    var l = m.language || textLang(m.text);
    if (l) attr(bubble, { lang: l, dir: "auto" });
    bubble.appendChild(who);
    richText(bubble, m.text);
    if (m.text) row.appendChild(bubble);
    var cards = (m.elements || []).filter(function (e) { return e && e.type === "product"; });
    if (cards.length) {
      var car = attr(el("div", "k-carousel"), { role: "list", "aria-label": t("products"), tabindex: "0" });
      cards.forEach(function (p) { var c = productCard(p); c.setAttribute("role", "listitem"); car.appendChild(c); });
      row.appendChild(car);
    }
    (m.elements || []).forEach(function (e) {
      if (!e || e.type !== "button" || !e.url) return;
      var href = safeUrl(e.url);
      if (href) row.appendChild(attr(el("a", "k-btn k-linkbtn", e.title || href), { href: href, target: "_blank", rel: "noopener noreferrer" }));
    });
    m.metaNode = el("div", "k-meta");
    row.appendChild(m.metaNode);
    if (m.direction === "in") {
      row.addEventListener("click", function () { if (m.state === "failed") retry(m); });
    }
    m.node = row;
    renderMeta(m);
    return row;
  }
  function renderChips() {
    chips.textContent = "";
    var last = null;
    for (var i = S.order.length - 1; i >= 0; i--) { last = S.msgs[S.order[i]]; break; }
    if (!last || last.direction !== "out" || S.status !== "bot") return;
    (last.elements || []).forEach(function (e) {
      if (!e || (e.type !== "quick_reply" && !(e.type === "button" && e.payload))) return;
      var b = attr(el("button", "k-chip", e.title || ""), { type: "button" });
      b.addEventListener("click", function () { send(e.title || "", e.payload == null ? "" : String(e.payload)); });
      chips.appendChild(b);
    });
  }
  function renderBanner() {
    var s = S.forbidden ? "forbidden" : S.offline ? "offline" : S.status === "waiting_human" ? "handoff" : S.status === "human" ? "human" : "";
    banner.hidden = !s;
    banner.className = "k-banner" + (s ? " k-banner-" + s : "");
    banner.textContent = s ? t(s) : "";
    input.disabled = sendBtn.disabled = !!S.forbidden;
  }
  function setTyping(on) {
    clearTimeout(S.typingTimer);
    typing.hidden = !on;
    if (on) S.typingTimer = setTimeout(function () { typing.hidden = true; }, 20000);
  }
  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function scrollEnd() { log.scrollTop = log.scrollHeight; }

  var RANK = { failed: 0, sending: 1, sent: 2, delivered: 3 };
  // Insert or update one message; returns true when it is new.
  function upsert(m, opts) {
    opts = opts || {};
    var key = m.id || m.client_id;
    var existing = S.msgs[key] || (m.client_id && S.msgs[m.client_id]);
    if (existing) {
      if (m.id && !S.msgs[m.id]) { S.msgs[m.id] = existing; }
      var had = existing.state;
      for (var k in m) if (m.hasOwnProperty(k)) existing[k] = m[k];
      // Never move a visitor message backwards (the reply may arrive before the POST answer).
      if (existing.direction === "in") existing.state = (RANK[had] || 0) >= (RANK[m.state] || 0) && had !== "failed" ? had : (m.state || had || "sent");
      if (existing.node) renderMeta(existing);
      return false;
    }
    if (m.direction === "in" && !m.state) m.state = m.delivery_status === "failed" ? "failed" : "sent";
    S.msgs[key] = m;
    if (m.client_id) S.msgs[m.client_id] = m;
    var stick = atBottom();
    var node = renderMessage(m);
    if (opts.prepend) {
      S.order.unshift(key);
      log.insertBefore(node, moreBtn.nextSibling);
    } else {
      S.order.push(key);
      log.appendChild(node);
      if (stick || m.direction === "in") scrollEnd();
    }
    return true;
  }
  function markDelivered() {
    S.order.forEach(function (id) {
      var m = S.msgs[id];
      // A reply proves the server has everything before it, even if our POST is still in flight.
      if (m && m.direction === "in" && (m.state === "sent" || m.state === "sending")) { m.state = "delivered"; renderMeta(m); }
    });
  }
  function received(m, live) {
    if (m.cursor && (!S.cursor || m.cursor > S.cursor)) S.cursor = m.cursor;
    var stick = atBottom();
    var isNew = upsert(m);
    if (!isNew) return;
    if (m.direction === "out") {
      setTyping(false);
      markDelivered();
      followLanguage(m);
      if (live) {
        if (!S.open || d.hidden) { S.unread++; ls("unread", String(S.unread)); renderBadge(); }
        announcer.textContent = "";
        if (!S.open) announcer.textContent = t("newmsg") + ": " + String(m.text || "").slice(0, 140);
      }
      renderChips();
      if (stick) scrollEnd();  // the chips row just took some of the log's height
    } else if (m.direction === "in") {
      followLanguage(m);
    }
    if (live) emit("message", publicMsg(m));
  }
  function publicMsg(m) {
    return { id: m.id, direction: m.direction, sender: m.sender, text: m.text, elements: m.elements, created_at: m.created_at };
  }
  function renderBadge() {
    badge.hidden = !S.unread;
    badge.textContent = S.unread > 9 ? "9+" : String(S.unread);
    applyLocale(S.locale, false);
  }
  function setStatus(st) {
    if (!st || st === S.status) return;
    S.status = st;
    if (st !== "bot") setTyping(false);
    applyLocale(S.locale, false);
    renderChips();
  }

  // ---------- conversation ----------
  function start() {
    if (S.startP) return S.startP;
    S.startP = req("POST", "/conversations", { locale: S.locale, page: location.href.slice(0, 500) }).then(function (j) {
      S.started = true;
      S.forbidden = false;
      setToken(j.visitor_token);
      S.conv = j.conversation;
      if (j.conversation) setStatus(j.conversation.status);
      (j.messages || []).forEach(function (m) { received(m, false); });
      S.hasMore = !!j.has_more; S.before = j.before;
      moreBtn.hidden = !S.hasMore;
      markDeliveredHistory();
      renderChips();
      scrollEnd();
      connect();
      return j;
    }, function (e) {
      S.startP = null;
      if (e.status === 403) { S.forbidden = true; renderBanner(); }
      throw e;
    });
    return S.startP;
  }
  function markDeliveredHistory() {
    var seenOut = false;
    for (var i = S.order.length - 1; i >= 0; i--) {
      var m = S.msgs[S.order[i]];
      if (m.direction === "out") seenOut = true;
      else if (seenOut && m.state === "sent") { m.state = "delivered"; renderMeta(m); }
    }
  }
  function setToken(tok) {
    if (tok && tok !== S.token) { S.token = tok; ls("token", tok); }
  }
  function loadEarlier() {
    if (!S.before) return;
    req("GET", "/messages?before=" + encodeURIComponent(S.before)).then(function (j) {
      var h = log.scrollHeight;
      (j.messages || []).slice().reverse().forEach(function (m) { upsert(m, { prepend: true }); });
      S.hasMore = !!j.has_more; S.before = j.before;
      moreBtn.hidden = !S.hasMore;
      log.scrollTop += log.scrollHeight - h;
    });
  }
  function send(text, payload) {
    text = String(text || "").trim();
    if (!text || S.forbidden) return;
    var m = {
      client_id: uid(), direction: "in", sender: "customer", text: text.slice(0, 4000),
      created_at: new Date().toISOString(), state: "sending", payload: payload || null, elements: []
    };
    upsert(m);
    chips.textContent = "";
    emit("message", publicMsg(m));
    post(m);
  }
  function post(m) {
    m.state = "sending"; if (m.node) renderMeta(m);
    if (S.status === "bot") setTyping(true);
    var body = { client_id: m.client_id, text: m.text };
    // A payload ("cart:add:…") says nothing about the language: tell the assistant which one we show.
    if (m.payload) { body.payload = m.payload; body.locale = S.locale; }
    return start().then(function () { return sendWithRetry(body, 0); }).then(function (j) {
      var saved = j.message;
      saved.state = "sent";
      received(saved, false);
      if (j.conversation) setStatus(j.conversation.status);
      if (!S.stream && !S.pollTimer) connect();
    }, function (e) {
      m.state = "failed"; if (m.node) renderMeta(m);
      setTyping(false);
      if (e.status === 401) { setToken(null); ls("token", null); S.token = null; S.startP = null; }
    });
  }
  function retry(m) { post(m); }
  // Sending is idempotent by client_id, so network errors, 5xx and 429 are retried a few times
  // (honouring Retry-After) before the message is shown as failed.
  function sendWithRetry(body, attempt) {
    return req("POST", "/messages", body).catch(function (e) {
      var retriable = !e.status || e.status >= 500 || e.status === 429;
      if (!retriable || attempt >= 3) throw e;
      var after = e.status === 429 && e.body && e.retryAfter ? e.retryAfter * 1000 : 400 * Math.pow(3, attempt);
      return new Promise(function (r) { setTimeout(r, Math.min(after, 10000)); }).then(function () {
        return sendWithRetry(body, attempt + 1);
      });
    });
  }

  // ---------- live: SSE over fetch (headers allowed), polling fallback ----------
  function connect() {
    if (!S.token || S.stream || S.forbidden) return;
    if (!(w.ReadableStream && w.TextDecoder) || S.streamFails >= 3) { poll(); return; }
    var ctrl = w.AbortController ? new AbortController() : null;
    S.stream = ctrl || {};
    var h = { Accept: "text/event-stream", "X-Kaleem-Visitor": S.token };
    if (S.cursor) h["Last-Event-ID"] = S.cursor;
    fetch(API + "/stream", { headers: h, credentials: "omit", mode: "cors", cache: "no-store", signal: ctrl && ctrl.signal })
      .then(function (r) {
        if (!r.ok || !r.body) { var e = new Error("stream " + r.status); e.status = r.status; throw e; }
        S.streamFails = 0; S.offline = false; renderBanner();
        var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
        function pump() {
          return reader.read().then(function (x) {
            if (x.done) return;
            buf += dec.decode(x.value, { stream: true });
            var parts = buf.split(/\r?\n\r?\n/);
            buf = parts.pop();
            parts.forEach(sseEvent);
            return pump();
          });
        }
        return pump();
      })
      .then(function () { S.stream = null; setTimeout(connect, 50); },
        function (e) {
          S.stream = null;
          if (e && e.name === "AbortError") return;
          S.streamFails++;
          if (e && (e.status === 401 || e.status === 403 || e.status === 404)) { S.streamFails = 3; }
          S.offline = S.streamFails > 1; renderBanner();
          setTimeout(connect, Math.min(30000, 500 * Math.pow(2, S.streamFails)));
        });
  }
  function sseEvent(block) {
    var ev = "message", data = "", id = null;
    block.split(/\r?\n/).forEach(function (line) {
      if (!line || line.charAt(0) === ":") return;
      var i = line.indexOf(":"), f = i < 0 ? line : line.slice(0, i), v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (f === "event") ev = v; else if (f === "data") data += (data ? "\n" : "") + v; else if (f === "id") id = v;
    });
    if (!data) return;
    var j; try { j = JSON.parse(data); } catch (e) { return; }
    if (ev === "message") { if (id) j.cursor = j.cursor || id; received(j, true); }
    else if (ev === "conversation") setStatus(j.status);
    else if (ev === "typing") { if (S.status === "bot") setTyping(!!j.on); }
  }
  function poll() {
    if (S.pollTimer || !S.token) return;
    S.pollTimer = setTimeout(function () {
      var q = S.cursor ? "?after=" + encodeURIComponent(S.cursor) : "";
      req("GET", "/messages" + q).then(function (j) {
        S.offline = false;
        (j.messages || []).forEach(function (m) { received(m, true); });
        if (j.conversation) setStatus(j.conversation.status);
      }, function () { S.offline = true; }).then(function () {
        renderBanner(); S.pollTimer = null;
        // Try the stream again now and then; keep polling meanwhile.
        if (Math.random() < 0.1) S.streamFails = 0;
        S.streamFails ? poll() : connect();
      });
    }, d.hidden ? 10000 : 3000);
  }

  // ---------- open / close / keyboard ----------
  function open() {
    if (S.open) return;
    S.open = true;
    panel.hidden = false;
    wrap.classList.add("k-is-open");
    attr(launcher, { "aria-expanded": "true" });
    S.unread = 0; ls("unread", null); renderBadge();
    if (!S.forbidden) start().catch(function () {});
    scrollEnd();
    setTimeout(function () { input.focus(); }, 30);
    emit("open");
  }
  function close() {
    if (!S.open) return;
    S.open = false;
    panel.hidden = true;
    wrap.classList.remove("k-is-open");
    attr(launcher, { "aria-expanded": "false" });
    launcher.focus();
    emit("close");
  }
  launcher.addEventListener("click", function () { S.open ? close() : open(); });
  closeBtn.addEventListener("click", close);
  moreBtn.addEventListener("click", loadEarlier);
  langBtn.addEventListener("click", function () { applyLocale(S.locale === "ar" ? "en" : "ar", true); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var v = input.value;
    input.value = ""; grow();
    send(v);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true })); }
  });
  function grow() { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; }
  input.addEventListener("input", grow);
  d.addEventListener("visibilitychange", function () { if (!d.hidden && S.open) { S.unread = 0; renderBadge(); } });
  w.addEventListener("storage", function (e) {
    // Another tab started or identified the conversation: share it.
    if (e.key === STORE + "token" && e.newValue && e.newValue !== S.token) { S.token = e.newValue; S.startP = null; if (S.started) start(); }
  });

  // ---------- public API ----------
  var api = {
    _loaded: true,
    _metrics: { launcherMs: null },
    open: open,
    close: close,
    toggle: function () { S.open ? close() : open(); },
    setLocale: function (l) { applyLocale(l, true); },
    identify: function (who) {
      who = who || {};
      var body = { id: String(who.id || ""), name: String(who.name || ""), email: String(who.email || ""), hmac: String(who.hmac || "") };
      return start().then(function () { return req("POST", "/identify", body); }).then(function (j) {
        setToken(j.visitor_token);
        if (S.stream && S.stream.abort) S.stream.abort();
        S.stream = null;
        S.order.forEach(function (id) { var m = S.msgs[id]; if (m && m.node && m.node.parentNode) m.node.parentNode.removeChild(m.node); });
        S.msgs = {}; S.order = []; S.cursor = null; S.startP = null;
        return start();
      });
    },
    on: function (name, fn) { (S.listeners[name] = S.listeners[name] || []).push(fn); return api; },
    off: function (name, fn) { S.listeners[name] = (S.listeners[name] || []).filter(function (f) { return f !== fn; }); return api; },
    send: function (text) { send(text); }
  };
  w.Kaleem = api;

  // ---------- boot ----------
  var navLang = (d.documentElement.getAttribute("lang") || navigator.language || "ar").slice(0, 2).toLowerCase();
  applyLocale(S.manualLocale || (navLang === "en" ? "en" : "ar"), false);
  S.unread = +(ls("unread") || 0);
  renderBadge();
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);

  // A page on a non-allowed origin gets no CORS headers, so the browser hides the 403 from us:
  // any failure to load the config means "not available here"; retried in case it was the network.
  function loadConfig() {
    req("GET", "/config").then(configured, function () {
      S.forbidden = true; renderBanner();
      setTimeout(loadConfig, 15000);
    });
  }
  loadConfig();
  function configured(cfg) {
    var wasForbidden = S.forbidden;
    S.forbidden = false;
    S.cfg = cfg;
    applyTheme(cfg);
    if (!S.manualLocale && cfg.default_language && !S.token) applyLocale(cfg.default_language, false);
    else applyLocale(S.locale, false);
    if (cfg.greeting && !S.order.length) greet(cfg);
    renderBanner();
    if (S.token || (wasForbidden && S.open)) start().catch(function () {});
  }
  function greet(cfg) {
    var g = cfg.greeting;
    var text = typeof g === "string" ? g : (g && (g[S.locale] || g.ar || g.en)) || "";
    if (!text) return;
    var old = S.greeting;
    S.greetingAt = S.greetingAt || new Date().toISOString();
    var node = renderMessage({ id: "greeting", direction: "out", sender: "assistant", text: text, elements: [], created_at: S.greetingAt });
    node.classList.add("k-greeting");
    S.greeting = node;
    if (old && old.parentNode) old.parentNode.replaceChild(node, old);
    else log.insertBefore(node, moreBtn.nextSibling);
  }
  // Calls queued before the script loaded: window.Kaleem = {q: [["open"], ["identify", {...}]]}
  if (prev && prev.q && prev.q.forEach) prev.q.forEach(function (c) { if (api[c[0]]) api[c[0]].apply(api, c.slice(1)); });
  try { w.dispatchEvent(new CustomEvent("kaleem:ready")); } catch (e) { /* old browsers */ }

  function CSS() {
    return [
      ":host{all:initial!important}",
      ".k-root{--k-primary:#0f766e;--k-on-primary:#fff;--k-bubble:#f1f5f9;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Tahoma,'Noto Sans Arabic','Noto Naskh Arabic','DejaVu Sans',sans-serif;color:#0f172a;-webkit-font-smoothing:antialiased}",
      ".k-root *,.k-root *::before,.k-root *::after{box-sizing:border-box}",
      "[hidden]{display:none!important}",
      ".k-sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
      "button,textarea,a{font:inherit;color:inherit}",
      "button{cursor:pointer;border:0;background:none;padding:0;margin:0}",
      ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
      ".k-launcher{position:fixed;bottom:20px;right:20px;width:60px;height:60px;border-radius:50%;background:var(--k-primary);color:var(--k-on-primary);display:flex;align-items:center;justify-content:center;box-shadow:0 6px 24px rgba(15,23,42,.28);transition:transform .15s}",
      ".k-root[dir=rtl] .k-launcher{right:auto;left:20px}",
      ".k-launcher:hover{transform:scale(1.06)}",
      ".k-badge{position:absolute;top:-2px;right:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;display:flex;align-items:center;justify-content:center;border:2px solid #fff}",
      ".k-panel{position:fixed;bottom:92px;right:20px;width:380px;height:min(620px,calc(100vh - 120px));background:#fff;border-radius:16px;box-shadow:0 12px 48px rgba(15,23,42,.3);display:flex;flex-direction:column;overflow:hidden}",
      ".k-root[dir=rtl] .k-panel{right:auto;left:20px}",
      ".k-head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--k-primary);color:var(--k-on-primary)}",
      ".k-logo{width:36px;height:36px;border-radius:50%;object-fit:cover;background:#fff}",
      ".k-titles{flex:1;min-width:0}",
      ".k-title{margin:0;font-size:16px;font-weight:700;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
      ".k-sub{margin:0;font-size:12px;opacity:.9}",
      ".k-sub:empty{display:none}",
      ".k-lang{font-size:12px;padding:4px 10px;border:1px solid currentColor;border-radius:14px}",
      ".k-close{width:32px;height:32px;display:flex;align-items:center;justify-content:center;border-radius:50%}",
      ".k-close:hover,.k-lang:hover{background:rgba(255,255,255,.15)}",
      ".k-banner{padding:8px 14px;font-size:13px;background:#fef3c7;color:#78350f;border-bottom:1px solid #fde68a}",
      ".k-banner-human{background:#dcfce7;color:#14532d;border-color:#bbf7d0}",
      ".k-banner-forbidden,.k-banner-offline{background:#fee2e2;color:#7f1d1d;border-color:#fecaca}",
      ".k-banner-handoff::before{content:'';display:inline-block;width:8px;height:8px;border-radius:50%;background:#d97706;margin-inline-end:8px;animation:k-pulse 1s infinite alternate}",
      ".k-log{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:10px;background:#fff;overscroll-behavior:contain}",
      ".k-more{align-self:center;font-size:12px;color:#475569;text-decoration:underline;padding:4px 8px}",
      ".k-msg{display:flex;flex-direction:column;max-width:88%;align-self:flex-start}",
      ".k-me{align-self:flex-end;align-items:flex-end}",
      ".k-bubble{padding:9px 12px;border-radius:16px;background:var(--k-bubble);white-space:pre-wrap;overflow-wrap:anywhere;border-end-start-radius:4px}",
      ".k-me .k-bubble{background:var(--k-primary);color:var(--k-on-primary);border-end-start-radius:16px;border-end-end-radius:4px}",
      ".k-agent .k-bubble{background:#ede9fe}",
      ".k-link{text-decoration:underline;color:inherit}",
      ".k-meta{font-size:11px;color:#64748b;margin-top:3px;display:flex;gap:6px;align-items:center}",
      ".k-state-failed{color:#dc2626;font-weight:700;cursor:pointer}",
      ".k-state-delivered{color:#0284c7}",
      ".k-carousel{display:flex;gap:10px;overflow-x:auto;scroll-snap-type:x mandatory;padding:6px 2px 8px;max-width:100%;margin-top:6px}",
      ".k-msg:has(.k-carousel){max-width:100%}",
      ".k-card{flex:0 0 168px;scroll-snap-align:start;border:1px solid #e2e8f0;border-radius:12px;overflow:hidden;background:#fff;display:flex;flex-direction:column}",
      ".k-img{height:120px;background:#f1f5f9;position:relative;display:flex;align-items:center;justify-content:center;color:#cbd5e1}",
      ".k-img img{position:absolute;inset:0;width:100%;height:100%;object-fit:cover;display:block;background:#f1f5f9}",
      ".k-ctitle{font-size:13px;font-weight:600;margin:8px 10px 4px;line-height:1.3;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;min-height:34px}",
      ".k-crow{display:flex;justify-content:space-between;align-items:center;gap:4px;margin:0 10px 8px;flex-wrap:wrap}",
      ".k-price{font-weight:700;font-size:13px}",
      ".k-stock{font-size:11px;padding:1px 7px;border-radius:9px}",
      ".k-in{background:#dcfce7;color:#166534}.k-out{background:#fee2e2;color:#991b1b}",
      ".k-cacts{display:flex;gap:6px;padding:0 10px 10px;margin-top:auto}",
      ".k-btn{flex:1;display:inline-flex;justify-content:center;align-items:center;font-size:12px;padding:7px 6px;border-radius:8px;border:1px solid var(--k-primary);color:var(--k-primary);text-decoration:none;text-align:center;background:#fff}",
      ".k-btn.k-primary{background:var(--k-primary);color:var(--k-on-primary)}",
      ".k-btn:disabled{opacity:.45;cursor:not-allowed}",
      ".k-linkbtn{margin-top:6px;flex:none}",
      ".k-typing{display:flex;gap:4px;padding:4px 20px 8px;align-items:center}",
      ".k-dot{width:7px;height:7px;border-radius:50%;background:#94a3b8;animation:k-bounce 1s infinite}",
      ".k-dot:nth-child(2){animation-delay:.15s}.k-dot:nth-child(3){animation-delay:.3s}",
      ".k-chips{display:flex;gap:6px;flex-wrap:wrap;padding:0 12px}",
      ".k-chips:not(:empty){padding-bottom:8px}",
      ".k-chip{font-size:13px;padding:6px 12px;border-radius:16px;border:1px solid var(--k-primary);color:var(--k-primary);background:#fff}",
      ".k-chip:hover{background:var(--k-bubble)}",
      ".k-form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #e2e8f0;align-items:flex-end;background:#fff}",
      ".k-input{flex:1;resize:none;border:1px solid #cbd5e1;border-radius:12px;padding:9px 12px;min-height:40px;max-height:120px;background:#fff;color:#0f172a;outline:none}",
      ".k-input:focus{border-color:var(--k-primary);box-shadow:0 0 0 2px rgba(15,118,110,.2)}",
      ".k-send{width:40px;height:40px;border-radius:50%;background:var(--k-primary);color:var(--k-on-primary);display:flex;align-items:center;justify-content:center;flex:none}",
      ".k-send:disabled{opacity:.5}",
      ".k-root[dir=rtl] .k-send svg{transform:scaleX(-1)}",
      "@keyframes k-bounce{0%,80%,100%{transform:translateY(0);opacity:.5}40%{transform:translateY(-5px);opacity:1}}",
      "@keyframes k-pulse{from{opacity:.3}to{opacity:1}}",
      "@media (max-width:480px){.k-panel{inset:0;width:100%;height:100%;border-radius:0;bottom:0;right:0;left:0}.k-root[dir=rtl] .k-panel{left:0}.k-is-open .k-launcher{display:none}}",
      "@media (prefers-reduced-motion:reduce){.k-dot,.k-banner-handoff::before{animation:none}.k-launcher{transition:none}}"
    ].join("\n");
  }
})();
