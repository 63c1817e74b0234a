"""Image upload: multipart, checked with Pillow, 10 MB limit, local files or S3 (moto server)."""

import io

import boto3
import pytest
from PIL import Image

from api.settings.storage import storages
from products.models import ProductImage
from testing.factories import ProductFactory

pytestmark = pytest.mark.django_db


def png_bytes(size=(32, 24), color=(200, 30, 30), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload_file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def product():
    return ProductFactory(slug="camera")


def upload(client, product, headers, data, name="photo.png", **form):
    return client.post(
        f"/api/staff/catalog/products/{product.pk}/images",
        {"file": upload_file(name, data), **form},
        **headers,
    )


def test_upload_stores_a_checked_image_and_shows_it(
    client, product, staff_headers, local_media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client, product, staff_headers, png_bytes(), name="../../evil.exe", alt="Front"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["alt"], body["position"]) == (32, 24, "Front", 0)
    assert body["url"].startswith("/media/products/") and body["url"].endswith(".png")
    image = ProductImage.objects.get(pk=body["id"])
    assert (local_media / image.image.name).read_bytes()[:4] == b"\x89PNG"
    jpeg = upload(client, product, staff_headers, png_bytes(fmt="JPEG"), name="x.png")
    assert jpeg.json()["url"].endswith(".jpg") and jpeg.json()["position"] == 1
    page = client.get("/api/catalog/products/camera").json()
    assert [i["alt"] for i in page["images"]] == ["Front", ""]
    listing = client.get("/api/catalog/products").json()
    assert listing["results"][0]["image"] == {"url": body["url"], "alt": "Front"}


@pytest.mark.parametrize(
    "data",
    [b"not an image at all", png_bytes()[:60], b"GIF89a" + b"\x00" * 40, b""],
    ids=["text", "truncated", "bad-gif", "empty"],
)
def test_what_is_not_a_real_image_is_422(client, product, staff_headers, local_media, data):
    response = upload(client, product, staff_headers, data)
    assert response.status_code == 422, response.content
    assert response.json()["code"] in {"invalid_image", "validation_error"}
    assert not ProductImage.objects.exists()
    assert not any(local_media.rglob("*.*"))


def test_images_in_formats_we_do_not_serve_are_refused(client, product, staff_headers, local_media):
    response = upload(client, product, staff_headers, png_bytes(fmt="BMP"), name="x.bmp")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_image")


def test_more_than_10_mb_is_413_in_the_error_shape(client, product, staff_headers, local_media):
    response = upload(client, product, staff_headers, b"\x00" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert set(response.json()) == {"code", "message", "details"}
    assert not ProductImage.objects.exists()


def test_a_file_over_the_limit_is_refused_while_it_streams(
    client, product, staff_headers, local_media, settings
):
    # The body fits the envelope slack but the file itself passes the limit.
    settings.MAX_UPLOAD_SIZE = 1000
    response = upload(client, product, staff_headers, png_bytes((200, 200), (1, 2, 3)) * 3)
    assert response.status_code == 413


def test_upload_needs_the_permission_and_a_product(
    client, product, customer_headers, staff_headers, local_media
):
    assert upload(client, product, customer_headers, png_bytes()).status_code == 403
    missing = client.post(
        "/api/staff/catalog/products/999999/images",
        {"file": upload_file("a.png", png_bytes())},
        **staff_headers,
    )
    assert missing.status_code == 404


def test_delete_removes_the_row_then_the_file(
    client, product, staff_headers, local_media, django_capture_on_commit_callbacks
):
    image_id = upload(client, product, staff_headers, png_bytes()).json()["id"]
    name = ProductImage.objects.get(pk=image_id).image.name
    assert (local_media / name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/staff/catalog/images/{image_id}", **staff_headers)
    assert response.status_code == 204
    assert not (local_media / name).exists()


def test_settings_choose_s3_when_a_bucket_is_named():
    assert storages({})["default"]["BACKEND"].endswith("FileSystemStorage")
    s3 = storages({"AWS_STORAGE_BUCKET_NAME": "shop", "AWS_S3_ENDPOINT_URL": "http://s3:9000"})
    assert s3["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["default"]["OPTIONS"]["bucket_name"] == "shop"
    assert s3["default"]["OPTIONS"]["endpoint_url"] == "http://s3:9000"
    assert s3["default"]["OPTIONS"]["querystring_auth"] is False


@pytest.fixture
def s3_bucket(settings, monkeypatch):
    """moto's S3 server on 127.0.0.1, a bucket in it, and the default storage pointed at it."""
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    environ = {
        "AWS_STORAGE_BUCKET_NAME": "emporium-media",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="emporium-media")
    settings.STORAGES = storages(environ)
    yield client, endpoint
    server.stop()


def test_upload_to_s3_through_django_storages(
    client, product, staff_headers, s3_bucket, django_capture_on_commit_callbacks
):
    s3, endpoint = s3_bucket
    response = upload(client, product, staff_headers, png_bytes(), alt="On S3")
    assert response.status_code == 201, response.content
    body = response.json()
    key = f"media/{ProductImage.objects.get(pk=body['id']).image.name}"
    stored = s3.get_object(Bucket="emporium-media", Key=key)["Body"].read()
    assert Image.open(io.BytesIO(stored)).size == (32, 24)
    assert body["url"] == f"{endpoint}/emporium-media/{key}"
    with django_capture_on_commit_callbacks(execute=True):
        client.delete(f"/api/staff/catalog/images/{body['id']}", **staff_headers)
    assert s3.list_objects_v2(Bucket="emporium-media").get("KeyCount", 0) == 0
