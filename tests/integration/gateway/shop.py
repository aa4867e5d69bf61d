"""The "shop" test federation: products, inventory, accounts and reviews.

Covers entities with single, compound, multiple and non-resolvable keys, @requires (with a
field argument), @provides, @external, @shareable, @override, @inaccessible, mutations in
two subgraphs, null keys and null entities, and subgraph errors.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.integration.gateway.subgraph import TestSubgraph

SDL = Path(__file__).parent / "sdl" / "shop"


def _sdl(name: str) -> str:
    return (SDL / f"{name}.graphql").read_text(encoding="utf-8")


PRODUCTS_SDL = _sdl("products")

INVENTORY_SDL = _sdl("inventory")

ACCOUNTS_SDL = _sdl("accounts")

REVIEWS_SDL = _sdl("reviews")

PRODUCTS = [
    {"upc": "1", "sku": "S1", "variant": {"id": "v1"}, "name": "Table", "price": 899,
     "weight": 100, "internalCode": "T-1", "warehouse": "w1"},
    {"upc": "2", "sku": "S2", "variant": {"id": "v1"}, "name": "Couch", "price": 1299,
     "weight": 1000, "internalCode": "C-2", "warehouse": None},
    {"upc": "3", "sku": "S3", "variant": {"id": "v2"}, "name": "Chair", "price": 54,
     "weight": 50, "internalCode": "C-3", "warehouse": "w2"},
]
WAREHOUSES = {"w1": "Lyon", "w2": "Oslo"}
USERS = [
    {"id": "u1", "email": "ada@example.com", "username": "ada", "name": "Ada Lovelace"},
    {"id": "u2", "email": "alan@example.com", "username": "alan", "name": "Alan Turing"},
]
REVIEWS = [
    {"id": "r1", "body": "Love it", "author": "u1", "upc": "1"},
    {"id": "r2", "body": "Too heavy", "author": "u2", "upc": "2"},
    {"id": "r3", "body": "Sturdy", "author": "u1", "upc": "2"},
    # A review whose product is unknown everywhere: a null entity.
    {"id": "r4", "body": "Ghost", "author": None, "upc": "404"},
]


def _product_out(product: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in product.items() if k != "warehouse"}


def _broken(*_: Any) -> str:
    raise RuntimeError("products is broken")


def build() -> dict[str, TestSubgraph]:  # noqa: C901 - one closure per resolver
    """Fresh subgraphs with their own copy of the data (mutations change it)."""
    products = copy.deepcopy(PRODUCTS)
    reviews = copy.deepcopy(REVIEWS)

    def by_upc(upc: str) -> dict[str, Any] | None:
        return next((p for p in products if p["upc"] == upc), None)

    def product_ref(rep: dict[str, Any]) -> dict[str, Any] | None:
        if "upc" in rep:
            found = by_upc(rep["upc"])
        else:
            found = next((p for p in products if p["sku"] == rep["sku"]
                          and p["variant"]["id"] == rep["variant"]["id"]), None)
        return _product_out(found) if found else None

    def add_product(_root: Any, _info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
        product = {"sku": f"S{input['upc']}", "variant": {"id": "v1"},
                   "internalCode": None, "warehouse": None, **input}
        products.append(product)
        return _product_out(product)

    products_sg = TestSubgraph("products", PRODUCTS_SDL, resolvers={
        "Query": {
            "products": lambda *_: [_product_out(p) for p in products],
            "product": lambda _r, _i, upc: product_ref({"upc": upc}),
            "broken": _broken,
            "warehouse": lambda _r, _i, id: (  # noqa: A006
                {"id": id, "city": WAREHOUSES[id]} if id in WAREHOUSES else None),
        },
        "Mutation": {"addProduct": add_product},
    }, references={
        "Product": product_ref,
        "Warehouse": lambda rep: ({"id": rep["id"], "city": WAREHOUSES[rep["id"]]}
                                  if rep["id"] in WAREHOUSES else None),
    })

    def inventory_ref(rep: dict[str, Any]) -> dict[str, Any] | None:
        found = next((p for p in products if p["sku"] == rep["sku"]
                      and p["variant"]["id"] == rep["variant"]["id"]), None)
        if found is None:
            return None
        # Computed from the representation only: proves @requires values arrived.
        out: dict[str, Any] = {**rep, "inStock": found["upc"] != "2",
                               "warehouse": ({"id": found["warehouse"]}
                                             if found["warehouse"] else None)}
        if "price" in rep and "weight" in rep:
            out["shippingEstimate"] = 0 if rep["price"] > 1000 else rep["weight"] // 2
        return out

    def delivery_days(product: dict[str, Any], _info: Any, zip: str) -> int:  # noqa: A002
        return len(zip) + product["weight"] // 100

    def stock_note(product: dict[str, Any], *_: Any) -> str:
        if product["sku"] == "S2":
            raise ValueError("no stock note for S2")
        return f"note {product['sku']}"

    inventory_sg = TestSubgraph("inventory", INVENTORY_SDL, resolvers={
        "Product": {"deliveryDays": delivery_days, "stockNote": stock_note},
    }, references={"Product": inventory_ref})

    users = copy.deepcopy(USERS)

    def user_ref(rep: dict[str, Any]) -> dict[str, Any] | None:
        key = "id" if "id" in rep else "email"
        found = next((u for u in users if u[key] == rep[key]), None)
        return {**found, "reviewCount": -1} if found else None

    def rename(_root: Any, _info: Any, id: str, name: str) -> dict[str, Any] | None:  # noqa: A002
        for user in users:
            if user["id"] == id:
                user["name"] = name
                return {**user, "reviewCount": -1}
        return None

    accounts_sg = TestSubgraph("accounts", ACCOUNTS_SDL, resolvers={
        "Query": {
            "me": lambda *_: {**users[0], "reviewCount": -1},
            "users": lambda *_: [{**u, "reviewCount": -1} for u in users],
        },
        "Mutation": {"rename": rename},
    }, references={"User": user_ref})

    def review_out(review: dict[str, Any]) -> dict[str, Any]:
        author = next((u for u in USERS if u["id"] == review["author"]), None)
        return {"id": review["id"], "body": review["body"],
                # @provides: the username comes along, with a marker that proves it came
                # from here and not from the accounts subgraph.
                "author": {"id": author["id"], "username": author["username"] + "@reviews"}
                if author else None,
                "product": {"upc": review["upc"]}}

    def user_reviews(user: dict[str, Any], *_: Any) -> list[dict[str, Any]]:
        return [review_out(r) for r in reviews if r["author"] == user["id"]]

    def user_review_count(user: dict[str, Any], *_: Any) -> int:
        return len([r for r in reviews if r["author"] == user["id"]])

    def add_review(_root: Any, _info: Any, upc: str, body: str) -> dict[str, Any]:
        review = {"id": f"r{len(reviews) + 1}", "body": body, "author": "u1", "upc": upc}
        reviews.append(review)
        return review_out(review)

    def review_ref(rep: dict[str, Any]) -> dict[str, Any] | None:
        found = next((r for r in reviews if r["id"] == rep["id"]), None)
        return review_out(found) if found else None

    reviews_sg = TestSubgraph("reviews", REVIEWS_SDL, resolvers={
        "Query": {"topReviews": lambda _r, _i, first: [review_out(r) for r in reviews[:first]]},
        "Mutation": {"addReview": add_review},
        "User": {"reviews": user_reviews, "reviewCount": user_review_count},
        "Product": {"reviews": lambda p, *_: [review_out(r) for r in reviews
                                             if r["upc"] == p["upc"]]},
    }, references={
        "Review": review_ref,
        "User": lambda rep: {"id": rep["id"]},
        "Product": lambda rep: {"upc": rep["upc"]},
    })
    return {"products": products_sg, "inventory": inventory_sg, "accounts": accounts_sg,
            "reviews": reviews_sg}
