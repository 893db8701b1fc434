"""Who may do what on the bus, read off the declarations of the contract.

One source for both enforcers: the bus client refuses a service that registers or sends outside its
declarations (so a test that runs the service finds a missing declaration), and the broker's ACL is generated
from the same functions (so a client that is not the service cannot do more than the service could).
"""

from __future__ import annotations

from .base import Kind, Topic

EVERY_SERVICE = "every service"  # a declaration that names every service process (not the command line)
CLI = "cli"
# accounts that show the whole bus to a person (the status page, `chargebus status`, the diagnostics archive):
# they may watch wide filters such as `chargebus/#`; what they receive is still only what they may read
WATCHERS = frozenset({"api", CLI, "firmware"})


def _named(account: str, names: tuple[str, ...] | str) -> bool:
    if isinstance(names, str):
        names = (names,)
    return account in names or (EVERY_SERVICE in names and account != CLI)


def owns(account: str, topic: Topic) -> bool:
    return _named(account, topic.owner)


def may_publish(account: str, topic: Topic) -> bool:
    """States, events, health and config: only their owner (health: each service its own, see `Bus`)."""
    return topic.kind is not Kind.CMD and owns(account, topic)


def may_call(account: str, topic: Topic) -> bool:
    return topic.kind is Kind.CMD and _named(account, topic.subscribers)


def may_handle(account: str, topic: Topic) -> bool:
    return topic.kind is Kind.CMD and owns(account, topic)


def declared_reader(account: str, topic: Topic) -> bool:
    """The account says it reads the topic (a command: it answers it)."""
    if topic.kind is Kind.CMD:
        return may_handle(account, topic)
    return owns(account, topic) or _named(account, topic.subscribers)


def may_read(account: str | None, topic: Topic) -> bool:
    """What the broker delivers: public topics to anyone (None: an anonymous watcher), the rest as declared."""
    if topic.kind is Kind.CMD or topic.private:
        return account is not None and declared_reader(account, topic)
    return True
