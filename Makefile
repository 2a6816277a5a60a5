# The README's commands. Each target creates or refreshes .venv first (only python3 is needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test test-fast lint bench clean lab screenshots bench-report bench-login

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py trailtools/events/_scan.c trailtools/events/_listing.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

TT := $(VENV)/bin/trailtools
# The demo account's story and expected answers: docs/demo-account.md. `make demo` runs the reboot investigation on
# its seven restarts (incidents 1-5, 9 and 10: verdicts, then offline HTML reports), the suspicious-login report,
# the cost-spike investigation (its answer, then its report), and every detection rule (trailtools hunt: the
# backdoor login of incident 8 and the stolen Lambda credentials among its findings, then its report).
demo: $(STAMP)
	@mkdir -p reports
	@echo "== The demo account's trail, all of it (Parquet and load stats in reports/) =="
	$(TT) events demo --format parquet -o reports/demo-events.parquet --stats-json reports/demo-load-stats.json
	@echo; echo "== 1-5, 9, 10. Why did each instance restart? (trailtools reboot; JSON in reports/) =="
	@for i in i-04c2a9e71d3b58f06 i-0b81f3d6c2e9a4775 i-07e5d2b9a1c4f3806 i-0f2a6c8e4b1d97a35 i-09d4b7e2f6a3c1508 \
	         i-0c3e5a7b9d1f24680 i-0d5f7b9c1e3a46802; do \
	    $(TT) reboot $$i --json reports/reboot-$$i.json || exit 1; echo; done
	@echo "== Their reports: offline HTML + findings JSON + the executed notebook (trailtools report) =="
	@for i in i-04c2a9e71d3b58f06 i-0b81f3d6c2e9a4775 i-07e5d2b9a1c4f3806 i-0f2a6c8e4b1d97a35 i-09d4b7e2f6a3c1508 \
	         i-0c3e5a7b9d1f24680 i-0d5f7b9c1e3a46802; do \
	    $(TT) report reboot -p instance $$i --out reports || exit 1; done
	@echo; echo "== 6. Suspicious logins: the report of the last week (trailtools report login) =="
	$(TT) report login --out reports
	@echo; echo "== 6. emma.wilson's sign-ins and what came next, as raw events =="
	$(TT) events demo --principal emma.wilson --start 2026-10-11 --end 2026-10-11 --limit 20 \
	    --columns eventTime,eventName,sourceIPAddress,responseElements.ConsoleLogin,additionalEventData.MFAUsed,errorMessage
	@echo; echo "== 7. Who or what made the bill jump? (trailtools cost; JSON in reports/) =="
	$(TT) cost --json reports/cost-demo.json
	@echo; echo "== 7. Its report (trailtools report cost) =="
	$(TT) report cost --out reports
	@echo; echo "== 8 and more. Every detection rule over the whole demo account (trailtools hunt; JSON in reports/) =="
	$(TT) hunt demo --json reports/hunt-demo.json
	@echo; echo "== Its report (trailtools report hunt) =="
	$(TT) report hunt --out reports
	@echo; echo "Done: open the *.html reports in reports/ (they work offline)."

# Everything, as CI runs it: the linter first, then every test, on every core (pytest-xdist; the workers share one
# generated demo account: tests/conftest.py).
test: lint
	$(PY) -m pytest -q -n auto

# The tests without the slow ones (notebooks, browsers, large corpora), on every core: what to run while working.
test-fast: lint
	$(PY) -m pytest -q -m "not slow" -n auto

lint: $(STAMP)
	$(VENV)/bin/ruff check trailtools tests benchmarks

# JupyterLab on the notebooks with the project's environment, on 127.0.0.1 only (it prints the URL with its token).
# Charts render with no network (trailtools bundles Vega). Extra options: make lab LAB_ARGS="--port=9999".
# The checkout stays clean: the shipped notebooks are saved as committed, without outputs (trailtools/labsave.py);
# File > Save Notebook As... another name keeps a run's outputs.
LAB_ARGS ?=
lab: $(STAMP)
	$(PY) -m jupyterlab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 \
	    --ContentsManager.pre_save_hook=trailtools.labsave.pre_save \
	    $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_load.py

# The login investigation over the 1M-event benchmark corpus, cold and warm, against loading the same events.
bench-login: $(STAMP)
	$(PY) benchmarks/bench_login.py

# Each demo report against the CLI verdict for the same subject, in the same run (target: at most 2x).
bench-report: $(STAMP)
	$(PY) benchmarks/report_speed.py

# A 1400 px wide PNG of each demo report in reports/ (Debian's chromium under Playwright; no browser download):
# the five reboot reports, the login and the cost report, made afresh into reports/screenshots/.
SHOTS := reports/screenshots
screenshots: $(STAMP)
	@rm -rf $(SHOTS) && mkdir -p $(SHOTS)
	@for i in i-04c2a9e71d3b58f06 i-0b81f3d6c2e9a4775 i-07e5d2b9a1c4f3806 i-0f2a6c8e4b1d97a35 i-09d4b7e2f6a3c1508; do \
	    $(TT) report reboot -p instance $$i --out $(SHOTS) >/dev/null || exit 1; done
	$(TT) report login --out $(SHOTS) >/dev/null
	$(TT) report cost --out $(SHOTS) >/dev/null
	$(PY) -m trailtools.report.screenshot $(SHOTS)/*.html
	@for f in $(SHOTS)/*.png; do mv "$$f" reports/; done; echo "PNGs in reports/ (their reports in $(SHOTS)/)"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
