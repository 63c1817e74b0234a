"""Test helpers for the Elasticsearch backend: ProductDocuments built in memory, a catalog that
stands in for search.documents, and a local HTTP server that answers as Elasticsearch does.

The fake server keeps indexes, aliases and documents in memory and implements what the backend
calls (info, synonyms, index create/exists/delete/settings/refresh, _aliases, _alias, _bulk, and
_search for the id listings the backend itself runs). Other searches get the answer a test sets
in `search_answer`, so the real client path (headers, serialisation, parsing) runs end to end.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from search.base import ProductDocument, VariantDocument
from search.es import backend as es_backend

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def variant(variant_id: int, *, price: str = "10.00", in_stock: bool = True, **attributes):
    return VariantDocument(
        id=variant_id,
        sku=f"SKU-{variant_id}",
        name=" / ".join(attributes.values()),
        price=Decimal(price),
        compare_at_price=None,
        in_stock=in_stock,
        attributes=attributes,
    )


def product(product_id: int, name: str, *variants: VariantDocument, **overrides) -> ProductDocument:
    fields = {
        "id": product_id,
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "description": f"All about {name}.",
        "brand_id": 1,
        "brand_name": "Acme",
        "brand_slug": "acme",
        "category_id": 2,
        "category_name": "Shoes",
        "category_slug": "shoes",
        "category_path_slugs": ("clothing", "shoes"),
        "category_path_names": ("Clothing", "Shoes"),
        "is_featured": False,
        "rating_avg": Decimal("4.50"),
        "rating_count": 2,
        "sales_count": 7,
        "created_at": CREATED,
        "updated_at": CREATED,
        "image_url": None,
        "attributes": {"material": "leather"},
        "variants": variants or (variant(product_id * 10),),
    }
    fields.update(overrides)
    return ProductDocument(**fields)


@dataclass
class Catalog:
    """What search.documents would read from the database: searchable products by id."""

    products: dict[int, ProductDocument] = field(default_factory=dict)

    def add(self, *docs: ProductDocument) -> None:
        for doc in docs:
            self.products[doc.id] = doc

    def install(self, monkeypatch) -> Catalog:
        """The Elasticsearch backend reads its documents from here instead of the database."""
        monkeypatch.setattr(
            es_backend,
            "product_documents",
            lambda ids: [self.products[i] for i in sorted(set(ids)) if i in self.products],
        )
        monkeypatch.setattr(
            es_backend,
            "searchable_product_ids",
            lambda *, after_id=0, limit: sorted(i for i in self.products if i > after_id)[:limit],
        )
        monkeypatch.setattr(es_backend, "searchable_product_count", lambda: len(self.products))
        return self


@dataclass
class Request:
    method: str
    path: str
    params: dict
    headers: dict
    body: object


class FakeElasticsearch:
    def __init__(self) -> None:
        self.indexes: dict[str, dict] = {}  # name -> {"body": ..., "docs": {id: source}}
        self.aliases: dict[str, set[str]] = {}  # alias -> indexes
        self.synonym_sets: dict[str, list] = {}
        self.requests: list[Request] = []
        self.search_answer: dict | None = None
        self.fail_searches = False
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeElasticsearch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what tests look at -----------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[Request]:
        return [
            r
            for r in self.requests
            if re.fullmatch(method, r.method) and re.fullmatch(pattern, r.path)
        ]

    def resolve(self, name: str) -> list[str]:
        return sorted(self.aliases.get(name, ())) or ([name] if name in self.indexes else [])

    def docs(self, name: str) -> dict[str, dict]:
        (index,) = self.resolve(name)
        return self.indexes[index]["docs"]

    # -- the protocol -----------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                return None

            def _read(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if not raw:
                    return None
                if "ndjson" in (self.headers.get("Content-Type") or ""):
                    return [json.loads(line) for line in raw.splitlines() if line.strip()]
                return json.loads(raw)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                request = Request(
                    method=method,
                    path=parts.path,
                    params={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self._read(),
                )
                with fake.lock:
                    fake.requests.append(request)
                    status, body = fake.answer(request)
                payload = b"" if method == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_DELETE(self):
                self._handle("DELETE")

            def do_HEAD(self):
                self._handle("HEAD")

        return Handler

    def answer(self, r: Request) -> tuple[int, dict]:
        segments = [s for s in r.path.split("/") if s]
        ack = {"acknowledged": True}
        if not segments:
            return 200, {
                "name": "fake",
                "version": {"number": "9.5.2"},
                "tagline": "You Know, for Search",
            }
        head = segments[0]
        if head == "_synonyms" and r.method == "PUT":
            self.synonym_sets[segments[1]] = r.body["synonyms_set"]
            return 200, {"result": "updated", "reload_analyzers_details": {"reload_details": []}}
        if head == "_alias" and r.method == "GET":
            targets = sorted(self.aliases.get(segments[1], ()))
            if not targets:
                return 404, {"error": f"alias [{segments[1]}] missing", "status": 404}
            return 200, {i: {"aliases": {segments[1]: {}}} for i in targets}
        if head == "_aliases" and r.method == "POST":
            for action in r.body["actions"]:
                ((kind, spec),) = action.items()
                targets = self.aliases.setdefault(spec["alias"], set())
                (targets.add if kind == "add" else targets.discard)(spec["index"])
            return 200, ack
        if head == "_bulk":
            return 200, self.bulk(r.body)
        if len(segments) >= 2 and segments[1] == "_search":
            return self.search(head, r.body or {})
        if len(segments) >= 2 and segments[1] == "_mapping" and r.method == "GET":
            return 200, {
                i: {"mappings": self.indexes[i]["body"].get("mappings", {})}
                for name in segments[0].split(",")
                for i in self.resolve(name)
            }
        if len(segments) >= 2 and segments[1] in ("_settings", "_refresh"):
            return 200, ack
        if len(segments) == 1:
            if r.method == "HEAD":
                return (200 if self.resolve(head) else 404), {}
            if r.method == "PUT":
                if head in self.indexes:
                    return 400, {
                        "error": {"type": "resource_already_exists_exception"},
                        "status": 400,
                    }
                body = r.body or {}
                self.indexes[head] = {"body": body, "docs": {}}
                for alias in body.get("aliases", {}):
                    self.aliases.setdefault(alias, set()).add(head)
                return 200, {**ack, "index": head}
            if r.method == "DELETE":
                if head not in self.indexes:
                    return 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
                del self.indexes[head]
                for targets in self.aliases.values():
                    targets.discard(head)
                return 200, ack
        return 400, {"error": f"the fake does not know {r.method} {r.path}", "status": 400}

    def bulk(self, lines: list[dict]) -> dict:
        items = []
        it = iter(lines)
        for meta in it:
            ((op, spec),) = meta.items()
            indexes = self.resolve(spec["_index"])
            docs = self.indexes[indexes[0]]["docs"] if indexes else None
            if op == "index":
                source = next(it)
                if docs is None:
                    items.append({op: {"_id": spec["_id"], "status": 404}})
                    continue
                docs[spec["_id"]] = source
                items.append({op: {"_id": spec["_id"], "status": 201, "result": "created"}})
            elif op == "delete":
                found = docs is not None and docs.pop(spec["_id"], None) is not None
                items.append(
                    {op: {"_id": spec["_id"], "status": 200 if found else 404,
                          "result": "deleted" if found else "not_found"}}
                )  # fmt: skip
        return {"took": 1, "errors": False, "items": items}

    def search(self, name: str, body: dict) -> tuple[int, dict]:
        indexes = self.resolve(name)
        if not indexes:
            return 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
        docs = self.indexes[indexes[0]]["docs"]
        composite = body.get("aggs", {}).get("ids", {}).get("composite")
        if composite is not None:  # the backend listing product ids
            ids = sorted({d["product_id"] for d in docs.values()})
            after = composite.get("after", {}).get("id", 0)
            page = [i for i in ids if i > after][: composite["size"]]
            agg = {"buckets": [{"key": {"id": i}, "doc_count": 1} for i in page]}
            if page:
                agg["after_key"] = {"id": page[-1]}
            return 200, {"hits": {"hits": []}, "aggregations": {"ids": agg}}
        terms = body.get("query", {}).get("terms", {}).get("product_id")
        if terms is not None:  # the backend reading the documents of some products
            hits = [
                {"_index": indexes[0], "_id": _id, "_score": 1.0, "_source": source}
                for _id, source in sorted(docs.items())
                if source["product_id"] in terms
            ]
            return 200, {"hits": {"hits": hits}}
        if self.fail_searches:
            return 503, {"error": {"type": "search_phase_execution_exception"}, "status": 503}
        return 200, self.search_answer or {"hits": {"hits": []}, "aggregations": {}}
