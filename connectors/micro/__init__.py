"""``sptk micro``: a local Snowplow Micro-compatible harness on the toolkit's own collector and pipeline.

Teams test their tracking by pointing a tracker at it and asking ``/micro/good`` and
``/micro/bad`` what became of each event; see docs/testing-your-tracking.md.
"""
