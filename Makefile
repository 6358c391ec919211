# Thin proxy: every target delegates to an npm script (package.json is the source of truth).
.PHONY: install build run test test-unit test-integration lint format bench bench-micro fixtures clean

# npm ci on a fresh clone or when the lockfile changes; @discordjs/opus compiles from source (.npmrc,
# and the environment here too: npm 11 warns that it will stop passing unknown .npmrc keys on to
# install scripts, and node-pre-gyp would then try a download from outside the npm registry).
# onnxruntime-node bundles its CPU runtime; its postinstall would fetch GPU files from outside the
# npm registry, so it is told to skip (npm 11 does not run unapproved install scripts anyway).
node_modules/.installed: package.json package-lock.json
	npm_config_build_from_source=@discordjs/opus ONNXRUNTIME_NODE_INSTALL=skip npm ci
	@touch $@

install: node_modules/.installed

build: install
	npm run build

run: build
	npm start

# Lint, unit and integration tests all run (and all report) even when an earlier one fails.
test: build
	@status=0; \
	npm run lint || status=1; \
	npm run test:unit || status=1; \
	npm run test:integration || status=1; \
	exit $$status

test-unit: install
	npm run test:unit

test-integration: install
	npm run test:integration

lint: install
	npm run lint

format: install
	npm run format

bench: build
	npm run bench -- $(ARGS)

bench-micro: build
	npm run bench:micro

fixtures:
	npm run fixtures

clean:
	rm -rf dist node_modules
