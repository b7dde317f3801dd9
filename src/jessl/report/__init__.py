"""Tables and figures from the evaluation outputs."""
