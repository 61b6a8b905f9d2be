"""The interface every target of a command has, and what the two kinds of profile share.

``Target`` is the one place that states what a command may ask of what it acts on: a
stored profile of either kind or the environment credentials of a CI job. mypy holds
each kind to it (``kinds.KINDS`` is typed with ``ProfileKind``, and
``environment.EnvironmentCredentials`` is passed where a ``Target`` is expected), so no
caller ever asks which kind it holds. A new kind is one module that subclasses
``Profile``, declares its ``SETTINGS`` (which become ``add``'s and ``edit``'s options)
and is listed in ``kinds.KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, NamedTuple, Protocol

from up42keys import rules
from up42keys.cache import TokenRecord
from up42keys.environment import PROJECT_KEY_ENV
from up42keys.errors import KeyringError
from up42keys.remote.client import MintedToken
from up42keys.store import keychain


class Target(Protocol):
    """What gets tokens: a profile, or the environment credentials."""

    # The stored profile's name; None for a target the store does not hold.
    @property
    def name(self) -> str | None: ...
    @property
    def label(self) -> str:
        """What ``current``, ``token --json`` and errors call it."""
        ...

    @property
    def title(self) -> str:
        """What doctor calls it."""
        ...

    @property
    def api_url(self) -> str: ...
    @property
    def project_id(self) -> str | None:
        """The project a token serves (None for an account's)."""
        ...

    @property
    def record_name(self) -> str:
        """Its token's record in the cache."""
        ...

    @property
    def record_names(self) -> tuple[str, ...]:
        """Every record it owns (an account's refresh token too): dropped and moved together."""
        ...

    @property
    def cache_key(self) -> str:
        """What its token is minted for (the record format's line 2)."""
        ...

    @property
    def token_url(self) -> str:
        """The host a mint contacts."""
        ...

    @property
    def foreign_variables(self) -> tuple[str, ...]:
        """Variables a program run by ``exec`` must not inherit beside its token."""
        ...

    def mint(self, secret: Callable[[], str] | None = None) -> MintedToken: ...
    def mint_with(self, secret: str) -> MintedToken: ...
    def keep_extras(self, minted: MintedToken) -> dict[str, TokenRecord | None]:
        """Records to keep (or drop, None) beside its token: an account's refresh token."""
        ...

    def rejected_fix(self) -> str: ...
    def secret(self) -> str:
        """The secret a mint sends, from where this target keeps it."""
        ...

    def restore_command(self) -> str | None:
        """The command that re-creates it, or None where no command of ours can."""
        ...


class ProfileKind(Target, Protocol):
    """A stored kind of profile: a ``Target`` that ``add``, ``edit`` and the store handle."""

    kind: ClassVar[str]
    SETTINGS: ClassVar[tuple[Setting, ...]]
    kind_flag: ClassVar[str]
    kind_help: ClassVar[str]
    asks_for: ClassVar[str]
    stdin_flag: ClassVar[str]
    keeps_spaces: ClassVar[bool]

    @property
    def name(self) -> str: ...
    @property
    def protected(self) -> bool: ...
    @property
    def has_secret(self) -> bool: ...
    @property
    def identity(self) -> str: ...
    @property
    def secret_scope(self) -> tuple[str, ...]:
        """Where its secret may be sent: a replacement with another scope never gets it."""
        ...

    def edited(self, **changes: str | None) -> Profile: ...
    def definition(self) -> dict[str, object]: ...
    def set_secret_command(self) -> str: ...


class Setting(NamedTuple):
    """A non-secret setting of a kind: its field, its option, and whether ``edit`` changes it."""

    field: str
    flag: str
    metavar: str
    # What ``add --help`` says of it; ``edit --help`` says ``edit_help``, where it differs.
    help: str
    editable: bool = True
    # Needed wherever a profile is defined; ``stored``: always written to profiles.toml.
    required: bool = False
    stored: bool = False
    edit_help: str = ""
    # The values it may take, where they are few (the option then offers them).
    choices: tuple[str, ...] = ()


API_URL = Setting(
    "api_url",
    "--api-url",
    "URL",
    f"The UP42 API [default: {rules.DEFAULT_API_URL}, or the account region's].",
    stored=True,
    edit_help="The UP42 API.",
)


class Profile:
    """A named set of non-secret settings; its secret lives in the keyring under the same name.

    The base class of every kind: what they share. Immutable by convention:
    ``replace`` makes a changed copy. Plain ``__slots__`` classes with equality, like
    the fast path's, so that a profile compares by value.
    """

    __slots__ = ("api_url", "has_secret", "name", "protected")
    FIELDS: ClassVar[tuple[str, ...]] = ("name", "api_url", "protected", "has_secret")
    kind: ClassVar[str] = ""
    SETTINGS: ClassVar[tuple[Setting, ...]] = (API_URL,)
    # The option of ``add`` that chooses this kind, and its help where it is a flag of its
    # own rather than one of the kind's settings (a project profile is chosen by its ID).
    kind_flag: ClassVar[str] = ""
    kind_help: ClassVar[str] = ""
    # What ``add`` asks for: the secret's name, the flag that reads it from stdin, and
    # whether blanks at its ends are part of it.
    asks_for: ClassVar[str] = ""
    stdin_flag: ClassVar[str] = ""
    keeps_spaces: ClassVar[bool] = False
    foreign_variables: ClassVar[tuple[str, ...]] = (PROJECT_KEY_ENV,)

    name: str
    api_url: str
    protected: bool
    # False for a profile imported without its secret: ``list`` says so without the keyring.
    has_secret: bool

    def _values(self) -> tuple[object, ...]:
        return (self.kind, *(getattr(self, field) for field in self.FIELDS))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{field}={getattr(self, field)!r}" for field in self.FIELDS)
        return f"{type(self).__name__}({fields})"

    @property
    def label(self) -> str:
        return self.name

    def setting(self, field: str) -> object:
        """A setting by its field's name; None where its kind has no such setting."""
        return getattr(self, field, None) if field in self.FIELDS else None

    @classmethod
    def editable(cls) -> tuple[str, ...]:
        """What ``edit`` may change, as its options' fields (``--api-url``: "api_url")."""
        return tuple(setting.field for setting in cls.SETTINGS if setting.editable)

    @property
    def identity(self) -> str:
        """Whose credentials these are, as ``list`` shows it."""
        raise NotImplementedError

    @property
    def secret_scope(self) -> tuple[str, ...]:
        """Where its secret may be sent: a replacement with another scope never gets it."""
        raise NotImplementedError

    @property
    def title(self) -> str:
        return f"profile {self.name}"

    @property
    def project_id(self) -> str | None:
        return None

    @property
    def record_name(self) -> str:
        return self.name

    @property
    def record_names(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def cache_key(self) -> str:
        raise NotImplementedError

    @property
    def token_url(self) -> str:
        return self.api_url

    @property
    def default_api_url(self) -> str:
        """The API the profile gets when ``--api-url`` is not given."""
        return rules.DEFAULT_API_URL

    def replace(self, **changes: object) -> Profile:
        copy = object.__new__(type(self))
        for field in self.FIELDS:
            object.__setattr__(copy, field, changes.pop(field, getattr(self, field)))
        if changes:
            raise TypeError(f"no such profile field: {', '.join(changes)}")
        return copy

    def renamed(self, new_name: str) -> Profile:
        return self.replace(name=new_name)

    def edited(self, **changes: str | None) -> Profile:
        """This profile with the editable settings that are not None changed, checked."""
        raise NotImplementedError

    def restore_command(self) -> str:
        """The ``add`` command that stores exactly this profile again, with its secret."""
        raise NotImplementedError

    def _command(self, words: list[str]) -> str:
        """``words`` as a command to paste: quoted, with ``--protected`` where it applies."""
        if self.protected:
            words = [*words, "--protected"]
        return rules.shell_command([*words, "--force"])

    def set_secret_command(self) -> str:
        """The command that stores this profile's secret (again), every other setting kept."""
        return rules.shell_command(["up42keys", "set-secret", self.name])

    def missing_secret_fix(self) -> str:
        return f"store it with '{self.set_secret_command()}'"

    def rejected_fix(self) -> str:
        return f"store the right {self.asks_for} with '{self.set_secret_command()}'"

    def add_again_fix(self) -> str:
        """What a rejected ``add`` says: nothing was stored, so ``add`` again, every option kept."""
        return (
            f"check the {self.asks_for} and add it again with '{self.restore_command()}'"
            " (or with --no-verify, to store it unchecked)"
        )

    def secret(self) -> str:
        """The stored secret, or a KeyringError whose fix stores it.

        A profile imported without its secret fails so without opening the keyring.
        """
        if not self.has_secret:
            raise KeyringError(
                f"profile {self.name!r} has no secret (it was imported, or moved to another host)",
                self.missing_secret_fix(),
            )
        return keychain.get_secret(self.name, missing_fix=self.missing_secret_fix())

    def mint(self, secret: Callable[[], str] | None = None) -> MintedToken:
        """A new token, with the stored secret (read only when it is needed).

        ``secret`` gives the secret instead of the keyring: exec's renewals, which must
        never prompt in the background, hand over the one read before the command started.
        """
        return self.mint_with((secret or self.secret)())

    def mint_with(self, secret: str) -> MintedToken:
        """A new token with ``secret`` (which ``add`` and doctor have in hand)."""
        raise NotImplementedError

    def keep_extras(self, minted: MintedToken) -> dict[str, TokenRecord | None]:
        """Nothing but the token, unless a kind says otherwise."""
        return {}

    def to_toml(self) -> dict[str, object]:
        """Its table in profiles.toml: the definition, and whether its secret is stored."""
        table = self.definition()
        if not self.has_secret:
            table["has_secret"] = False
        return table

    def definition(self) -> dict[str, object]:
        """What defines it, as ``export`` shares it: no secret, and no word of one."""
        table: dict[str, object] = {"kind": self.kind}
        for field in self.FIELDS:
            value = getattr(self, field)
            if field not in ("name", "protected", "has_secret") and value is not None:
                table[field] = value
        if self.protected:
            table["protected"] = True
        return table
