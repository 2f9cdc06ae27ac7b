# One image per variant: its own packages (catalog `packages`, exact versions from
# constraints.txt), the server apps, and the launcher that turns the catalog row into a command.
#
# Build arguments (set by the suite, or by compose/.env for `docker compose` by hand):
#   BASE        the image servers run on        (registry: python:3.13-slim; offline: battle/cpython, the local servers' CPython)
#   BUILD_BASE  the image wheels are built on: the same as BASE by default, so compiled packages
#               link only libraries the servers' image has; a C compiler is added if missing
#   PIP_OFFLINE 1: install only from build/wheelhouse (made on the host by `battle images --offline`)
#   PACKAGES    space-separated distributions the variant runs
# Layers that do not depend on PACKAGES come first, so every variant shares them: with the
# legacy builder each step costs seconds, and only the last few differ between variants.
ARG BASE=python:3.13-slim
ARG BUILD_BASE=python:3.13-slim

FROM ${BUILD_BASE} AS code
COPY suite/__init__.py suite/launch.py /opt/battle/suite/
COPY suite/record/__init__.py suite/record/catalog.py /opt/battle/suite/record/
COPY servers/ /opt/battle/servers/

FROM ${BUILD_BASE} AS wheels
# The offline base has gcc already; python:3.13-slim gets it from Debian (needs a mirror).
RUN command -v gcc >/dev/null || { apt-get update -qq \
      && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; } \
    && python3 -m venv /opt/build
COPY constraints.txt build/wheelhouse/ /wheelhouse/
ARG PIP_OFFLINE=0
ARG PACKAGES
# Binary wheels are copied as they are; source-only packages (uWSGI, gunicorn_h1c) compile here,
# in an isolated build environment with setuptools and wheel from the wheelhouse (--use-pep517:
# uWSGI has only a setup.py).
RUN mkdir -p /wheels && if [ -n "$PACKAGES" ]; then \
      /opt/build/bin/pip wheel --quiet --disable-pip-version-check --use-pep517 --wheel-dir /wheels \
        --find-links /wheelhouse $( [ "$PIP_OFFLINE" = 1 ] && echo --no-index ) \
        --constraint /wheelhouse/constraints.txt ${PACKAGES}; fi

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8 PYTHONPATH=/opt/battle
WORKDIR /opt/battle
ENTRYPOINT ["/opt/venv/bin/python", "-m", "suite.launch"]
RUN python3 -m venv /opt/venv
ARG PACKAGES
COPY --from=wheels /wheels /wheels
# /wheels holds exactly the pinned versions: no index, no constraints needed here.
RUN if [ -n "$PACKAGES" ]; then /opt/venv/bin/pip install --quiet --disable-pip-version-check \
      --no-index --find-links /wheels ${PACKAGES}; fi && rm -rf /wheels
COPY --from=code /opt/battle /opt/battle
