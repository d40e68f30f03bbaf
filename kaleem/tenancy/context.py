"""The merchant a request or task acts for, kept in a context variable for logs and metrics."""

from kaleem.logging import merchant_id_var


def set_current_merchant_id(merchant_id: object) -> None:
    merchant_id_var.set(str(merchant_id) if merchant_id else "")
