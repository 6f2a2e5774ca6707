"""Sinks the pipeline writes to besides Kafka: local files (``--output files:DIR``)."""

from connectors.sinks.files import FilesOutputs, stream_file_name

__all__ = ["FilesOutputs", "stream_file_name"]
