"""Adapters of the AI jobs' ports: language models (`openai_chat`, `anthropic_chat`, sharing the `retry`
policy) and the keyless journal writer (`journal_writer`). None of them knows a broker."""
