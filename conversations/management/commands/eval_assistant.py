import json

from django.core.management.base import BaseCommand, CommandError

from conversations.eval.harness import load_cases, run_eval

TARGETS = {
    "intent_accuracy": 90.0,
    "answer_coverage": 85.0,
    "policy_accuracy": 95.0,
    "product_recall_at_5": 85.0,
}


class Command(BaseCommand):
    help = "Evaluate the assistant on a JSONL case file (intent, coverage, policy accuracy, recall@5, latency)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("file")
        parser.add_argument("--load-demo", action="store_true", help="load the demo store first if it is missing")
        parser.add_argument("--json", dest="json_path", help="also write the full report (with failures) here")
        parser.add_argument("--split", help="only cases of this split (dev|holdout)")
        parser.add_argument("--failures", action="store_true", help="print every failing case")

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        from merchants.models import Merchant

        cases = load_cases(options["file"])
        if options.get("split"):
            cases = [c for c in cases if c.get("split") == options["split"]]
        if not cases:
            raise CommandError("No cases in the file.")
        slugs = sorted({c.get("fixture", "demo-fashion") for c in cases})
        merchants = {m.slug: m for m in Merchant.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in merchants]
        if missing and options["load_demo"]:
            from django.core.management import call_command

            call_command("load_demo")
            merchants = {m.slug: m for m in Merchant.objects.filter(slug__in=slugs)}
            missing = [s for s in slugs if s not in merchants]
        if missing:
            raise CommandError(f"Unknown fixture store(s) {missing}: run `manage.py load_demo` (or pass --load-demo).")
        report = run_eval(cases, merchants=merchants)
        for split in [k for k in report if k not in ("failures", "slowest_cases")]:
            summary = report[split]
            self.stdout.write(f"\n== {split} ({summary['cases']} cases, {summary['turns']} turns)")
            for key, value in summary.items():
                if key in ("cases", "turns", "per_intent_accuracy"):
                    continue
                target = TARGETS.get(key)
                mark = "" if target is None or value is None else (" ✓" if value >= target else f" ✗ (target {target})")
                self.stdout.write(f"  {key:24s} {value}{mark}")
            self.stdout.write(f"  per_intent_accuracy      {summary['per_intent_accuracy']}")
        self.stdout.write(f"\nslowest turns: {report['slowest_cases']}")
        self.stdout.write(f"\n{len(report['failures'])} case(s) with problems")
        if options["failures"]:
            for failure in report["failures"]:
                self.stdout.write(f"  {failure['id']} [{failure['split']}] {failure['turns']}: {failure['problems']}")
        if options.get("json_path"):
            with open(options["json_path"], "w", encoding="utf-8") as handle:
                json.dump(report, handle, ensure_ascii=False, indent=2, default=str)
