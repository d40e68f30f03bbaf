"""Compare the database with the vector index for one merchant."""

from dataclasses import dataclass, field
from typing import Any

from catalog.choices import ProductStatus
from catalog.search import backend
from catalog.search.indexing import KIND


@dataclass
class DriftReport:
    db_active: int = 0
    indexed: int = 0
    missing: list[str] = field(default_factory=list)  # active in DB, no vector
    stale: list[str] = field(default_factory=list)  # vector without an active product
    outdated: list[str] = field(default_factory=list)  # vector payload disagrees with the DB (price, stock, status)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.outdated)


def index_drift(*, merchant_id: Any) -> DriftReport:
    from catalog.models import Product

    rows = {
        str(pid): (price, sale, in_stock)
        for pid, price, sale, in_stock in Product.objects.for_merchant(merchant_id)
        .filter(status=ProductStatus.ACTIVE)
        .values_list("id", "price", "sale_price", "in_stock")
    }
    points = backend.vector_ids(kind=KIND, merchant_id=merchant_id)
    report = DriftReport(db_active=len(rows), indexed=len(points))
    report.missing = sorted(pid for pid in rows if pid not in points)
    report.stale = sorted(pid for pid in points if pid not in rows)
    for pid, payload in points.items():
        if pid not in rows:
            continue
        price, sale, in_stock = rows[pid]
        effective = float(sale if sale is not None and sale < price else price)
        if abs(float(payload.get("price", -1)) - effective) > 0.005 or bool(payload.get("in_stock")) != bool(in_stock):
            report.outdated.append(pid)
    return report
