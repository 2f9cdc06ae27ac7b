# The client of a placed run (battle run --hosts): wrk runs the suite's Lua (copied in by the
# suite), iperf3 and python3 measure the links. The offline image set uses its Debian base,
# which carries all three; with a registry this image adds them to python:3.13-slim.
ARG BASE=python:3.13-slim
FROM ${BASE}
RUN command -v wrk >/dev/null && command -v iperf3 >/dev/null || { apt-get update -qq \
      && apt-get install -y -qq --no-install-recommends wrk iperf3 >/dev/null \
      && rm -rf /var/lib/apt/lists/*; }
