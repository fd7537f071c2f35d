# policy-rag: two entry points.  `make demo` sets everything up and opens the chat;
# `make test` sets everything up and runs the whole suite (what .ci/run calls).
PY      ?= python3.11
VENV    ?= .venv
BIN      = $(VENV)/bin
STAMP    = $(VENV)/.installed-all
CHAT     = $(VENV)/.installed-chat
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_OFFLINE = 1
export HF_HUB_DISABLE_TELEMETRY = 1
export TOKENIZERS_PARALLELISM = false

.PHONY: setup browser ocr demo test bench clean

# The chat needs only the ui and formats extras (no torch, no test tools); `make test` installs everything.
# scripts/install.sh makes the venv and uses uv when it can (seconds), pip otherwise (minutes); a line every 4 s either way.
$(CHAT): pyproject.toml
	@echo "creating $(VENV) and installing what the chat needs into it …"
	@PY=$(PY) scripts/install.sh $(VENV) ui,formats
	touch $(CHAT)

$(STAMP): $(CHAT)
	@echo "installing the test tools and optional backends into $(VENV) …"
	@PY=$(PY) scripts/install.sh $(VENV) ui,st,dev,formats,milvus
	touch $(STAMP)

setup: $(STAMP)

# Debian chromium + a CJK font for the browser tests (never `playwright install`).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "browser: not root, cannot apt-get install chromium; browser tests will skip"; fi; fi

# OCR of scanned PDFs (tesseract + Chinese data), legacy Word .doc (antiword), the CJK font the PDF
# tests write with: about 11 s and 6 MB with apt's lists fresh.  Without root the readers say what is missing.
ocr:
	@if ! command -v tesseract >/dev/null || ! command -v antiword >/dev/null \
	    || [ ! -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] \
	    || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	    tesseract-ocr tesseract-ocr-chi-sim antiword fonts-wqy-microhei >/dev/null; \
	  else echo "ocr: not root, cannot apt-get install tesseract/antiword; scanned PDFs and .doc files will be refused, their tests skip"; fi; fi

demo: $(CHAT) ocr
	$(BIN)/policy-rag index build data/corpus --report index/ingest-report.txt
	@echo "policy-rag: the chat will be at http://127.0.0.1:7860/ (stop it with Ctrl-C)"
	$(BIN)/policy-rag serve

test: setup browser ocr
	$(BIN)/python -m pytest -q -n 2 --durations=15

bench: setup
	$(BIN)/python bench/retrieval.py

clean:
	rm -rf $(VENV) index/*/ .pytest_cache
