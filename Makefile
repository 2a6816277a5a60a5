# The README's commands. Each target creates or refreshes .venv first (only python3 is needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

TT := $(VENV)/bin/trailtools
# The demo account's story and expected answers: docs/demo-account.md. Until the reboot, login and cost notebooks
# (and their HTML reports) land, `make demo` shows the planted evidence with `trailtools events`.
demo: $(STAMP)
	@mkdir -p reports
	@echo "== The demo account's trail, all of it (CSV and load stats in reports/) =="
	$(TT) events demo --format csv -o reports/demo-events.csv --stats-json reports/demo-load-stats.json
	@echo; echo "== 1. Who touched web-01 (i-04c2a9e71d3b58f06)? =="
	$(TT) events demo --resource i-04c2a9e71d3b58f06 --event-name RebootInstances,StopInstances,StartInstances \
	    --columns eventTime,eventName,actor,sourceIPAddress,userAgent,sessionCredentialFromConsole
	@echo; echo "== 2-4. No API call restarted db-replica-02, batch-worker-03 or jump-host-04 =="
	$(TT) events demo --resource i-0b81f3d6c2e9a4775 --event-name RebootInstances,StopInstances,StartInstances
	$(TT) events demo --resource i-07e5d2b9a1c4f3806 --event-name RebootInstances,StopInstances,StartInstances
	$(TT) events demo --resource i-0f2a6c8e4b1d97a35 --event-name RebootInstances,StopInstances,StartInstances
	@echo; echo "== 5. report-gen-05 (i-09d4b7e2f6a3c1508) stopped and started by automation =="
	$(TT) events demo --resource i-09d4b7e2f6a3c1508 --event-name StopInstances,StartInstances,ModifyInstanceAttribute
	@echo; echo "== 6. emma.wilson's sign-ins and what came next =="
	$(TT) events demo --principal emma.wilson --start 2026-10-11 --end 2026-10-11 --limit 20 \
	    --columns eventTime,eventName,sourceIPAddress,responseElements.ConsoleLogin,additionalEventData.MFAUsed,errorMessage
	@echo; echo "== 7. Who launched instances in ap-northeast-1? =="
	$(TT) events demo --region ap-northeast-1 --event-name RunInstances
	@echo; echo "Done. The investigations (notebooks and HTML reports in reports/) are still to come."

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_load.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
