"""The measuring half: MongoDB, runtimes that start and stop servers, verification, load
generators, the machine's and the database's own counters, and the runner that executes a plan
into a results file."""
