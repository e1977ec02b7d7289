"""The weekly digest: when it is due (`slots`), what is in it (`compose`), the pass that sends it (`delivery`)."""
