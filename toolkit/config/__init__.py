"""The pipeline configuration, one module per concern; import each name from the module that holds it.

- ``models``: the sections and ``PipelineConfig``, the whole of one deployment's file;
- ``loading``: ``load_config`` (a TOML/YAML file) and ``parse_config`` (a parsed mapping);
- ``sources``: the file and the ``SPTK_`` environment overrides applied onto it;
- ``errors``: ``ConfigError`` and its problems; ``messages``: pydantic's errors in the project's words;
- ``validation``: what validators share (the load in progress, text from the environment);
- the value types keys hold: ``values`` (paths, schema criteria, output target), ``field_paths``,
  ``filters`` (the filter language), ``secrets``, ``librdkafka`` (the client properties passthrough);
- ``key_types``: the type a key holds, walked by key path;
- ``identity``: the config hash and the ``sp.pipeline`` id; ``schema``: the JSON Schema and the key list;
- ``reference``: docs/pipeline.md's key reference, generated from the models.
"""
