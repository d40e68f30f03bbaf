"""Product image uploads: POST/GET /api/v1/catalog/products/{id}/images, DELETE …/images/{image_id}.

Real storage (FileSystemStorage in a temp MEDIA_ROOT), real images made with Pillow, real HTTP API."""

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Product, ProductImage
from catalog.tests.factories import ProductFactory
from conversations.assistant.products import product_card
from kaleem.testing.api import member_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalog/products/{}/images"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.KALEEM_PUBLIC_URL = "https://shop.example.com"
    return Path(settings.MEDIA_ROOT)


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(client, product_id, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return client.post(
        URL.format(product_id), {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", ".jpg"),
        ("PNG", "image/png", ".png"),
        ("WEBP", "image/webp", ".webp"),
        ("GIF", "image/gif", ".gif"),
    ],
)
def test_upload_each_accepted_type_is_stored_listed_with_absolute_url(owner, media, fmt, content_type, extension):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant, images=[])
    data = image_bytes(fmt)
    # The declared name and type are ignored: the bytes decide.
    res = upload(client, product.id, data, name="anything.bin", content_type="application/octet-stream")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["content_type"] == content_type and (body["width"], body["height"]) == (64, 48)
    assert body["size_bytes"] == len(data)
    assert body["url"].startswith("http://testserver/media/catalog/products/") and body["url"].endswith(extension)
    files = stored_files(media)
    assert len(files) == 1 and files[0].read_bytes() == data and files[0].suffix == extension

    detail = client.get(f"/api/v1/catalog/products/{product.id}").json()
    assert [i["url"] for i in detail["uploaded_images"]] == [body["url"]]
    assert detail["image_url"] == body["url"]  # no image URLs: the upload is the card image
    listing = client.get(URL.format(product.id)).json()["results"]
    assert [i["id"] for i in listing] == [body["id"]]


def test_card_image_in_lists_search_and_assistant_cards(owner, media, relay):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant, images=[], title_en="Leather sandal", title_ar="صندل جلد")
    first = upload(client, product.id, image_bytes("PNG"), name="a.png").json()
    second = upload(client, product.id, image_bytes("JPEG")).json()
    relay()
    items = client.get("/api/v1/catalog/products").json()["results"]
    assert [i["url"] for i in items[0]["uploaded_images"]] == [first["url"], second["url"]]
    assert items[0]["image_url"] == first["url"]
    hits = client.get("/api/v1/catalog/search", {"q": "صندل"}).json()["results"]
    assert hits and hits[0]["product"]["image_url"] == first["url"]
    # The assistant's product card (sent to Telegram/WhatsApp, which fetch it themselves): public absolute URL.
    card = product_card(Product.objects.get(id=product.id), "ar")
    assert card["image_url"] == first["url"].replace("http://testserver", "https://shop.example.com")
    # A merchant-given image URL stays first.
    client.patch(f"/api/v1/catalog/products/{product.id}", {"images": ["https://cdn.example.com/x.jpg"]}, format="json")
    assert product_card(Product.objects.get(id=product.id), "en")["image_url"] == "https://cdn.example.com/x.jpg"
    # …and editing the product does not lose the uploads' card image.
    assert Product.objects.get(id=product.id).image_file.name.endswith(".png")


def test_delete_removes_row_and_file_and_promotes_the_next_image(owner, media, django_capture_on_commit_callbacks):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant, images=[])
    first = upload(client, product.id, image_bytes("PNG"), name="a.png").json()
    second = upload(client, product.id, image_bytes("GIF"), name="b.gif").json()
    assert len(stored_files(media)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        res = client.delete(f"{URL.format(product.id)}/{first['id']}")
    assert res.status_code == 204
    assert [p.suffix for p in stored_files(media)] == [".gif"]
    detail = client.get(f"/api/v1/catalog/products/{product.id}").json()
    assert [i["id"] for i in detail["uploaded_images"]] == [second["id"]]
    assert detail["image_url"] == second["url"]
    # Deleting it again, or an unknown id, is a 404 that changes nothing.
    assert client.delete(f"{URL.format(product.id)}/{first['id']}").status_code == 404
    assert client.delete(f"{URL.format(product.id)}/00000000-0000-0000-0000-000000000000").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{URL.format(product.id)}/{second['id']}").status_code == 204
    assert stored_files(media) == []
    assert client.get(f"/api/v1/catalog/products/{product.id}").json()["image_url"] == ""


def test_deleting_the_product_deletes_its_files(owner, media, django_capture_on_commit_callbacks):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant)
    upload(client, product.id, image_bytes("JPEG"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/catalog/products/{product.id}").status_code == 204
    assert stored_files(media) == [] and not ProductImage.objects.exists()


def _png_with_size(width: int, height: int) -> bytes:
    """A structurally valid PNG header claiming width×height (a decompression-bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


BAD_UPLOADS = [
    ("empty", b"", 400, "empty_file", ""),
    ("pdf", b"%PDF-1.7\n1 0 obj <<>> endobj\n", 415, "unsupported_image_type", "PDF"),
    (
        "svg",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
        415,
        "unsupported_image_type",
        "SVG",
    ),
    ("html", b"<html><body>hi</body></html>", 415, "unsupported_image_type", "HTML"),
    ("text named .jpg", "صورة".encode() * 20, 415, "unsupported_image_type", "not a recognised image"),
    ("bmp", None, 415, "unsupported_image_type", "BMP"),
    ("jpeg magic then garbage", b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, 400, "invalid_image", "JPEG"),
    ("truncated png", None, 400, "invalid_image", "PNG"),
    ("png magic then garbage", b"\x89PNG\r\n\x1a\n" + b"not really" * 30, 400, "invalid_image", "PNG"),
    ("webp riff with no image", b"RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00abcd", 400, "invalid_image", "WEBP"),
]


@pytest.mark.parametrize(("label", "data", "status", "code", "reason"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_with_a_reason_and_store_nothing(owner, media, label, data, status, code, reason):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant, images=[])
    if label == "bmp":
        data = image_bytes("BMP")
    elif label == "truncated png":
        full = io.BytesIO()
        Image.effect_noise((300, 300), 80).save(full, format="PNG")  # noise: compressed data is long enough to cut
        data = full.getvalue()[: len(full.getvalue()) // 2]
    res = upload(client, product.id, data)
    assert res.status_code == status, res.json()
    error = res.json()["error"]
    assert error["code"] == code and reason in error["message"] and error["fields"]["file"]
    assert stored_files(media) == [] and not ProductImage.objects.exists()
    assert client.get(f"/api/v1/catalog/products/{product.id}").json()["image_url"] == ""


def test_size_and_pixel_limits_come_from_settings(owner, media, settings):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant)
    data = image_bytes("PNG", size=(200, 200))
    settings.CATALOG_IMAGE_MAX_BYTES = len(data) - 1
    res = upload(client, product.id, data)
    assert res.status_code == 413 and res.json()["error"]["code"] == "image_too_large"
    settings.CATALOG_IMAGE_MAX_BYTES = 5 * 1_048_576
    settings.CATALOG_IMAGE_MAX_PIXELS = 100 * 100
    res = upload(client, product.id, data)
    assert res.status_code == 400 and res.json()["error"]["code"] == "image_too_many_pixels"
    # A tiny file that claims 60,000 × 60,000 pixels is refused from its header, before any decoding.
    settings.CATALOG_IMAGE_MAX_PIXELS = 40_000_000
    res = upload(client, product.id, _png_with_size(60_000, 60_000))
    assert res.status_code == 400 and res.json()["error"]["code"] == "image_too_many_pixels"
    assert stored_files(media) == []
    assert upload(client, product.id, image_bytes("PNG", size=(100, 100))).status_code == 201


def test_missing_file_field_json_body_and_per_product_limit(owner, media, settings):
    client, merchant, _ = owner
    product = ProductFactory(merchant=merchant)
    res = client.post(URL.format(product.id), {}, format="multipart")
    assert res.status_code == 400 and "file" in res.json()["error"]["fields"]
    assert client.post(URL.format(product.id), {"file": "x"}, format="json").status_code == 415
    settings.CATALOG_IMAGES_PER_PRODUCT = 2
    assert upload(client, product.id, image_bytes("JPEG")).status_code == 201
    assert upload(client, product.id, image_bytes("JPEG")).status_code == 201
    res = upload(client, product.id, image_bytes("JPEG"))
    assert res.status_code == 409 and res.json()["error"]["code"] == "too_many_images"
    assert len(stored_files(media)) == 2


def test_roles_and_other_stores(owner, other_owner, media):
    client, merchant, _ = owner
    other_client, other_merchant, _ = other_owner
    product = ProductFactory(merchant=merchant)
    image = upload(client, product.id, image_bytes("JPEG")).json()
    viewer, _, _ = member_client("viewer", merchant=merchant)
    assert viewer.get(URL.format(product.id)).status_code == 200
    assert upload(viewer, product.id, image_bytes("JPEG")).status_code == 403
    assert viewer.delete(f"{URL.format(product.id)}/{image['id']}").status_code == 403
    # Another store: the product and the image do not exist for it, and nothing of them leaks.
    for res in (
        other_client.get(URL.format(product.id)),
        upload(other_client, product.id, image_bytes("JPEG")),
        other_client.delete(f"{URL.format(product.id)}/{image['id']}"),
    ):
        assert res.status_code == 404 and image["id"] not in res.content.decode()
    # Its own product with this store's image id: still 404.
    own = ProductFactory(merchant=other_merchant)
    assert other_client.delete(f"{URL.format(own.id)}/{image['id']}").status_code == 404
    assert ProductImage.objects.filter(id=image["id"]).exists() and len(stored_files(media)) == 1


@pytest.fixture
def s3(settings):
    """A local S3 endpoint (moto's server, the S3 protocol over HTTP) configured the way production sets S3_*."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings.AWS_STORAGE_BUCKET_NAME = "kaleem-media-test"
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_ACCESS_KEY_ID = "test"
    settings.AWS_SECRET_ACCESS_KEY = "test"  # noqa: S105 - moto accepts any key
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_QUERYSTRING_AUTH = True
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    client.create_bucket(Bucket="kaleem-media-test")
    yield client, endpoint
    server.stop()


def test_images_go_to_s3_when_configured(owner, media, s3, django_capture_on_commit_callbacks):
    import httpx

    client, merchant, _ = owner
    s3_client, endpoint = s3
    product = ProductFactory(merchant=merchant, images=[])
    data = image_bytes("WEBP")
    res = upload(client, product.id, data, name="x.webp", content_type="image/webp")
    assert res.status_code == 201, res.json()
    url = res.json()["url"]
    assert url.startswith(f"{endpoint}/kaleem-media-test/catalog/products/") and "Signature" in url
    assert httpx.get(url).content == data  # the URL the API hands out serves the image
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="kaleem-media-test").get("Contents", [])]
    assert len(keys) == 1 and keys[0].endswith(".webp") and stored_files(media) == []
    card = product_card(Product.objects.get(id=product.id), "ar")
    assert card["image_url"].startswith(f"{endpoint}/kaleem-media-test/{keys[0]}")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{URL.format(product.id)}/{res.json()['id']}").status_code == 204
    assert s3_client.list_objects_v2(Bucket="kaleem-media-test").get("KeyCount") == 0
