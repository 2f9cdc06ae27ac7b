# The servers' base without a registry: the offline Debian base with the very CPython build the
# local runtime's servers run on (scripts/ensure-interpreters: PGO + LTO, libpython shared),
# copied from the host's cache into the build context by `battle images --offline` and placed at
# the path it was built for (its rpath and sysconfig name it). `python3` on PATH is that build;
# Debian's python3.11 stays in /usr/bin for nothing of the suite's.
ARG BASE=battle/bookworm:offline
FROM ${BASE}
ARG PREFIX
COPY cpython/ ${PREFIX}/
RUN ln -sf ${PREFIX}/bin/python3 /usr/local/bin/python3 \
    && /usr/local/bin/python3 -c "import ssl, sqlite3, ctypes, zlib, bz2, lzma, venv" \
    && /usr/local/bin/python3 -VV
