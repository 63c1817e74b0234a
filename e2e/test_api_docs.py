"""Swagger UI and ReDoc, as an API client's developer meets the product: rendered, every
operation shown, and a call made from the page."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

pytestmark = pytest.mark.django_db

# ReDoc's footer shows Redocly's logo from their CDN (hard-coded in the bundle) and hides it when
# it does not load, as here with no internet: the one request that leaves the server.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def operations(base: str) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation of the served schema."""
    schema = httpx.get(f"{base}/api/openapi.json", timeout=30).json()
    return [
        (method, path, operation["operationId"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_swagger_ui_renders_every_operation_without_a_console_error(page, shop):
    expected = operations(shop.base)
    page.open("/api/docs")
    page.wait_for(".opblock, .errors-wrapper", 30)
    assert [e.text for e in page.find_all(".errors-wrapper")] == []  # "Parser error: ..."
    shown = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.lower(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in page.find_all(".opblock")
    }
    assert len(page.find_all(".opblock")) == len(expected)
    assert shown == {(method, path) for method, path, _ in expected}
    assert page.console_errors() == []


def test_swagger_try_it_out_lists_products(page, shop):
    page.open("/api/docs")
    page.wait_for(".opblock", 30)
    block = next(
        b
        for b in page.find_all(".opblock-get")
        if b.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
        == "/api/catalog/products"
    )
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    WebDriverWait(block, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    status = WebDriverWait(block, 30).until(
        lambda b: b.find_elements(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        )
    )[0]
    assert status.text.strip().startswith("200")
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .highlight-code").text
    assert '"results"' in body
    assert page.console_errors() == []


def test_redoc_renders_every_operation(page, shop):
    expected = operations(shop.base)
    page.open("/api/redoc")
    WebDriverWait(page.driver, 60).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")
            or "Something went wrong" in d.find_element(By.TAG_NAME, "body").text
        )
    )
    assert page.find_all("[data-section-id^='operation/']"), page.find("body").text[:500]
    sections = {
        element.get_attribute("data-section-id").removeprefix("operation/")
        for element in page.find_all("[data-section-id^='operation/']")
    }
    assert sections == {operation_id for _, _, operation_id in expected}
    assert [e for e in page.console_errors() if not e.startswith(REDOC_CDN_LOGO)] == []
