# Thin proxy: every target delegates to an npm script (package.json is the source of truth).
.PHONY: install build run test bench bench-micro fixtures clean

# npm ci on a fresh clone or when the lockfile changes; @discordjs/opus compiles from source (.npmrc).
node_modules/.installed: package.json package-lock.json
	npm ci
	@touch $@

install: node_modules/.installed

build: install
	npm run build

run: build
	npm start

test: build
	npm test

bench: build
	npm run bench -- $(ARGS)

bench-micro: build
	npm run bench:micro

fixtures:
	npm run fixtures

clean:
	rm -rf dist node_modules
