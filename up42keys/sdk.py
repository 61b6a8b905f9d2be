"""``up42keys.sdk.authenticate``: up42-py on a profile (the code is ``integrations.sdk``)."""

from up42keys.integrations.sdk import authenticate

__all__ = ["authenticate"]
