"""What both halves share: the record of a run (results), what it is made from (catalog,
documents, profiles), the plan it follows, and plain statistics. Nothing here starts a process
or reads a report's prose."""
