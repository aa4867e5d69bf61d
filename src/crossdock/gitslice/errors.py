"""GitSlice's errors.

GitSliceError
├── SliceConfigError       a slice's settings are missing or invalid (also a ConfigError)
│   └── NoForge                the slice has no forge repositories to ask
├── UnknownSlice           no slice has that name
├── SliceExists            a slice with that name exists already
├── GitCommandError        a git command failed (its URLs and tokens redacted)
├── GitAuthError           a git server refused the credentials (no retry helps)
├── UnknownBranch          the branch or commit does not exist
│   └── NotPushed              the branch is not on upstream yet (raise-pr before push)
├── WrongPullRequest       the slice pull request is not from the branch named
├── NotSynced              the slice has no sync (mapped) commit to start from
├── DivergedSlice          the slice branch has commits crossdock did not write
├── PushRefused            a push would break a rule; nothing was changed
│   ├── IgnoredPathTouched     the branch changes ignored paths or .gitsliceignore
│   ├── CommitMessageRejected  a message fails the push regex
│   └── PushConflict           merging into the upstream branch conflicts
├── IssueRefused           the issue cannot be pulled (a pull request, another repository)
├── NotLinked              an upstream pull request has no linked slice pull request
├── BadLink                a link is not of the expected shape or repository
├── CommandError           a /git-slice comment is not a command crossdock understands
└── StoreError             the slice tables could not be read or written
    └── StoreUnavailable       the database did not answer (also the core's DatabaseError)
"""

from __future__ import annotations

from crossdock.core.errors import ConfigError, CrossdockError, DatabaseError


class GitSliceError(CrossdockError):
    """GitSlice failed."""


class SliceConfigError(GitSliceError, ConfigError):
    """The slice's settings are missing or invalid."""


class NoForge(SliceConfigError):
    """The slice has no forge repositories, so nothing can be asked of a forge."""


class UnknownSlice(GitSliceError):
    """No slice has that name."""


class SliceExists(GitSliceError):
    """A slice with that name exists already."""


class GitCommandError(GitSliceError):
    """A git command failed."""


class GitAuthError(GitSliceError):
    """A git server refused the credentials: a token that is missing, wrong or revoked.

    Not a :class:`GitCommandError`, which jobs retry: trying again with the same token cannot
    help, so a job fails at once and says so.
    """


class UnknownBranch(GitSliceError):
    """The branch does not exist."""


class NotPushed(UnknownBranch):
    """The branch is not on upstream yet: push it first (`crossdock slice push`)."""


class WrongPullRequest(GitSliceError):
    """The slice pull request is not from the branch named."""


class NotSynced(GitSliceError):
    """The slice has no sync commit to start from: run `crossdock slice pull` first."""


class DivergedSlice(GitSliceError):
    """The slice branch has commits that crossdock did not write."""


class PushRefused(GitSliceError):
    """The push was refused; neither repository was changed."""


class IgnoredPathTouched(PushRefused):
    """The branch changes paths that are ignored or controlled by upstream."""


class CommitMessageRejected(PushRefused):
    """The commit message does not match the push regex."""


class PushConflict(PushRefused):
    """Merging into the upstream branch conflicts."""


class IssueRefused(GitSliceError):
    """The issue cannot be pulled."""


class NotLinked(GitSliceError):
    """The upstream pull request is not linked to a slice pull request."""


class BadLink(GitSliceError):
    """The link is not one this command takes."""


class CommandError(GitSliceError):
    """The comment is not a /git-slice command crossdock understands."""


class StoreError(GitSliceError):
    """The slice tables could not be read or written."""


class StoreUnavailable(StoreError, DatabaseError):
    """The database did not answer: retry later (the admin graph says ``SERVICE_UNAVAILABLE``)."""
