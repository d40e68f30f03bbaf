from kaleem.idempotency.decorators import idempotent

__all__ = ["idempotent"]
