"""The base of every domain error whose message may be shown to the customer as it is."""


class CustomerError(Exception):
    """A refusal the customer should read: ``message`` is lazily translated, ``code`` stable.

    Services raise subclasses; views turn them into form errors or messages. ``params`` fill
    the ``%(name)s`` placeholders of the message in the language active when it is shown.
    """

    message = "The request could not be completed."
    code = "error"

    def __init__(self, message=None, **params):
        self.params = params
        if message is not None:
            self.message = message
        super().__init__(self.code)

    def __str__(self):
        return str(self.message) % self.params if self.params else str(self.message)
