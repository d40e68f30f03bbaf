from rest_framework import status

from kaleem.core.errors import ApplicationError


class CatalogError(ApplicationError):
    code = "catalog_error"


class EmptyQueryError(CatalogError):
    code = "empty_query"
    status_code = status.HTTP_400_BAD_REQUEST


class DuplicateSkuError(CatalogError):
    code = "duplicate_sku"
    status_code = status.HTTP_409_CONFLICT


class ImportFileError(CatalogError):
    code = "invalid_import_file"
