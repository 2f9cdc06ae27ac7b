"""The reading half: results files into summaries, the answer, checks, findings, charts and
reports. Pure functions: nothing here starts a process or needs a server's package, wrk or
mongod, so a report regenerates anywhere from its results file alone."""
