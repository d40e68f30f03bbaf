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

test-mongodb:   ## the whole suite against MongoDB: KALEEM_TEST_MONGODB_URL=mongodb://host:27017/kaleem?replicaSet=rs0
	@case "$$KALEEM_TEST_MONGODB_URL" in \
	  mongodb://*|mongodb+srv://*) DATABASE_URL="$$KALEEM_TEST_MONGODB_URL" bash scripts/test.sh $(ARGS) ;; \
	  "") echo "test-mongodb: NOT RUN - KALEEM_TEST_MONGODB_URL is not set (a MongoDB replica set URL; see docs/databases.md)" ;; \
	  *) echo "test-mongodb: KALEEM_TEST_MONGODB_URL must start with mongodb:// or mongodb+srv://" >&2; exit 2 ;; \
	esac

worker:
	.venv/bin/celery -A kaleem worker -l info -Q default,webhooks,outbox,embeddings,assistant

beat:
	.venv/bin/celery -A kaleem beat -l info
