"""The browsable docs (`/api/docs/`, Swagger UI): a public HTML page that loads the schema and its
assets from this server, never from a CDN."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _assets(html: str) -> list[str]:
    return ASSET.findall(html)


def test_the_docs_page_loads_the_schema_and_local_assets_only(api: APIClient) -> None:
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assets = _assets(html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert "/api/schema/" in html
    assert not re.search(r"https?://|//cdn|jsdelivr|unpkg", html), "the page must not load anything from elsewhere"
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = api.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert len(body) > 500, asset


def test_the_swagger_page_lists_its_stylesheet_and_both_bundles(api: APIClient) -> None:
    assets = _assets(api.get("/api/docs/").content.decode())

    assert [a.rsplit("/", 1)[1] for a in assets] == [
        "favicon-32x32.png",
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    ]


def test_a_missing_asset_is_a_404_in_the_envelope_not_a_page(api: APIClient) -> None:
    response = api.get("/static/drf_spectacular_sidecar/swagger-ui-dist/nope.js")

    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "msg": "no such endpoint: GET /static/drf_spectacular_sidecar/swagger-ui-dist/nope.js",
    }


@pytest.mark.parametrize("path", ["/api/docs/", "/api/schema/"])
def test_a_wrong_method_on_the_docs_is_a_405_in_the_envelope(api: APIClient, path: str) -> None:
    response = api.post(path, {}, format="json")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": 405, "msg": 'Method "POST" not allowed.'}


def test_an_unknown_schema_format_is_a_404_in_the_envelope(api: APIClient) -> None:
    response = api.get("/api/schema/", {"format": "xml"})

    assert response.status_code == 404
    assert response.json() == {"code": 404, "msg": "not found"}
