"""Sources, the tracker-protocol collector, the files output, the warehouse loader, the pipeline runner and the sidecar.

The collector (:mod:`connectors.collector`) is the front door trackers talk to: its requests
become enriched events through the adapter and enter the pipeline as one more source, and
``sptk micro`` (:mod:`connectors.micro`) serves Snowplow Micro's API over the same path for
local testing. Builds on ``toolkit`` and ``iglu_registry``; never imported by them.
"""
