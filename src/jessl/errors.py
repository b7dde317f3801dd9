"""The project's configuration error: a bad params file or value, one line per problem naming the key and the fix."""


class ConfigError(ValueError):
    """A bad configuration; the message names the key and the fix."""
