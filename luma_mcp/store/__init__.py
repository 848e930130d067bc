"""What this server keeps of its work: the records (`records`) and the history log (`history`)."""
