.PHONY: run test lint fmt migrations-check test-mongodb worker beat bench

run:            ## serve the demo store on embedded defaults at http://127.0.0.1:8000
	bash scripts/run.sh

test:           ## the whole test suite
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

fmt:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

migrations-check:
	.venv/bin/python manage.py makemigrations --check --dry-run

worker:
	.venv/bin/celery -A kaleem worker -l info -Q default,webhooks,outbox,embeddings,assistant

beat:
	.venv/bin/celery -A kaleem beat -l info
