"""The service catalog: services as data (config/services/*.toml), checked against their
schema at load, searchable by name, pinyin and keyword, with the validators their inputs use."""
