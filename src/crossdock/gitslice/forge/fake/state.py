"""What the in-package forge holds: users, repositories (bare git repositories on disk),
pull requests, issues, comments, reviews and webhooks, in memory.

Numbers and ids follow GitHub's rules: issues and pull requests share one number sequence per
repository, every other object has an id unique across the forge.
"""

from __future__ import annotations

import datetime
import itertools
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from crossdock.gitslice.forge.fake.errors import ForgeFault

#: Names that the forge's own URL space takes (``/api/v3/...``), so no owner may have them.
RESERVED_OWNERS = frozenset({"api", "_forge"})

ROLES = ("admin", "maintain", "write", "triage", "read")


def now() -> datetime.datetime:
    """The current time, to the second, as GitHub writes it."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


@dataclass(slots=True, kw_only=True)
class User:
    login: str
    id: int
    kind: str = "User"


@dataclass(slots=True, kw_only=True)
class Hook:
    id: int
    url: str
    secret: str
    events: tuple[str, ...]
    active: bool = True
    created_at: datetime.datetime = field(default_factory=now)


@dataclass(slots=True, kw_only=True)
class Comment:
    id: int
    user: User
    body: str
    created_at: datetime.datetime = field(default_factory=now)
    reactions: list[tuple[int, User, str]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ReviewComment:
    id: int
    review_id: int
    user: User
    body: str
    path: str
    commit_id: str
    line: int
    side: str
    start_line: int | None = None
    start_side: str | None = None
    in_reply_to: int | None = None
    created_at: datetime.datetime = field(default_factory=now)


@dataclass(slots=True, kw_only=True)
class Review:
    id: int
    user: User
    body: str
    state: str
    commit_id: str
    submitted_at: datetime.datetime = field(default_factory=now)


@dataclass(slots=True, kw_only=True)
class Pull:
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged_at: datetime.datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    reviews: list[Review] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Issue:
    """An issue, or the issue half of a pull request (``pull`` is set)."""

    id: int
    number: int
    user: User
    title: str
    body: str | None
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    created_at: datetime.datetime = field(default_factory=now)
    updated_at: datetime.datetime = field(default_factory=now)
    closed_at: datetime.datetime | None = None
    pull: Pull | None = None


@dataclass(slots=True, kw_only=True)
class Repo:
    id: int
    owner: User
    name: str
    path: Path
    private: bool = False
    default_branch: str = "main"
    description: str | None = None
    created_at: datetime.datetime = field(default_factory=now)
    pushed_at: datetime.datetime = field(default_factory=now)
    collaborators: dict[str, str] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def issue(self, number: int, *, pull: bool | None = None) -> Issue:
        found = self.issues.get(number)
        if found is None or (pull is True and found.pull is None):
            raise ForgeFault(404, "Not Found")
        return found


def run_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in a bare repository of the forge, whatever its exit code."""
    # The program is git from PATH, as everywhere in GitSlice; arguments are never a shell's.
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,  # noqa: S603, S607
                          check=False)


def git(repo: Path, *args: str) -> str:
    """Run git in a bare repository; its output, stripped."""
    done = run_git(repo, *args)
    if done.returncode != 0:
        raise ForgeFault(422, f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def refs(repo: Path) -> dict[str, str]:
    """Every branch and tag of a bare repository, by full ref name."""
    listed = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads",
                 "refs/tags")
    pairs = (line.split(" ", 1) for line in listed.splitlines() if line)
    return dict(pairs)


class ForgeState:
    """The whole forge: users and their tokens, and repositories under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}
        self.repos: dict[str, Repo] = {}
        self._ids = itertools.count(1000)

    def next_id(self) -> int:
        return next(self._ids)

    def add_user(self, login: str, token: str | None = None, *, kind: str = "User") -> str:
        """Add (or find) a user and give them a token; the token."""
        user = self.users.get(login)
        if user is None:
            user = self.users[login] = User(login=login, id=self.next_id(), kind=kind)
        token = token or f"ghp_{secrets.token_hex(18)}"
        self.tokens[token] = login
        return token

    def user(self, login: str) -> User:
        found = self.users.get(login)
        if found is None:
            raise ForgeFault(404, "Not Found")
        return found

    def repo(self, owner: str, name: str, *, viewer: User | None = None) -> Repo:
        found = self.repos.get(f"{owner}/{name}".lower())
        if found is None or (found.private and self.role(found, viewer) is None):
            raise ForgeFault(404, "Not Found")
        return found

    def role(self, repo: Repo, user: User | None) -> str | None:
        """The user's role on the repository; ``None`` for no role at all."""
        if user is None:
            return None
        if user.login == repo.owner.login:
            return "admin"
        if user.kind == "Bot":
            return "write"
        return repo.collaborators.get(user.login, None if repo.private else "read")

    def require(self, repo: Repo, user: User, at_least: str) -> None:
        """Refuse with 403 unless ``user`` has ``at_least`` the role on ``repo``."""
        role = self.role(repo, user)
        if role is None or ROLES.index(role) > ROLES.index(at_least):
            raise ForgeFault(403, "Resource not accessible by personal access token")

    def create_repo(self, owner: User, name: str, *, private: bool = False,
                    description: str | None = None, default_branch: str = "main") -> Repo:
        if owner.login.lower() in RESERVED_OWNERS:
            raise ForgeFault(422, "Repository creation failed.",
                             [{"resource": "Repository", "code": "custom", "field": "owner"}])
        key = f"{owner.login}/{name}".lower()
        if key in self.repos:
            raise ForgeFault(422, "Repository creation failed.",
                             [{"resource": "Repository", "code": "custom", "field": "name",
                               "message": "name already exists on this account"}])
        path = self.root / owner.login / f"{name}.git"
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--bare", f"--initial-branch={default_branch}")
        git(path, "config", "http.receivepack", "true")
        repo = Repo(id=self.next_id(), owner=owner, name=name, path=path, private=private,
                    description=description, default_branch=default_branch)
        self.repos[key] = repo
        return repo

    def branch_sha(self, repo: Repo, branch: str) -> str:
        sha = refs(repo.path).get(f"refs/heads/{branch}")
        if sha is None:
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "PullRequest", "code": "invalid", "field": "head"}])
        return sha

    def open_pull(self, repo: Repo, user: User, *, title: str, head: str, base: str,
                  body: str | None, draft: bool) -> Issue:
        self.require(repo, user, "write")
        head_ref = head.split(":", 1)[1] if ":" in head else head
        head_sha = self.branch_sha(repo, head_ref)
        base_sha = self.branch_sha(repo, base)
        for issue in repo.issues.values():
            if issue.pull and issue.state == "open" and issue.pull.head_ref == head_ref \
                    and issue.pull.base_ref == base:
                raise ForgeFault(422, "Validation Failed", [{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {repo.owner.login}:{head_ref}.",
                }])
        pull = Pull(head_ref=head_ref, head_sha=head_sha, base_ref=base, base_sha=base_sha,
                    draft=draft)
        return self._new_issue(repo, user, title=title, body=body, pull=pull)

    def open_issue(self, repo: Repo, user: User, *, title: str, body: str | None,
                   labels: list[str], assignees: list[str]) -> Issue:
        self.require(repo, user, "read")
        issue = self._new_issue(repo, user, title=title, body=body, pull=None)
        # As on GitHub: labels (created when the repository lacks them) and assignees are set
        # only by users with push access, and silently dropped for anyone else.
        if ROLES.index(self.role(repo, user) or "read") <= ROLES.index("write"):
            self.label(repo, issue, labels)
            issue.assignees = [self.user(login) for login in assignees]
        return issue

    def _new_issue(self, repo: Repo, user: User, *, title: str, body: str | None,
                   pull: Pull | None) -> Issue:
        if not title.strip():
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "Issue", "code": "missing_field", "field": "title"}])
        number = max(repo.issues, default=0) + 1
        issue = Issue(id=self.next_id(), number=number, user=user, title=title, body=body,
                      pull=pull)
        repo.issues[number] = issue
        return issue

    def label(self, repo: Repo, issue: Issue, labels: list[str]) -> None:
        for name in labels:
            repo.labels.setdefault(name, self.next_id())
            if name not in issue.labels:
                issue.labels.append(name)
        issue.updated_at = now()

    def comment(self, issue: Issue, user: User, body: str) -> Comment:
        if not body.strip():
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "IssueComment", "code": "missing_field",
                               "field": "body"}])
        made = Comment(id=self.next_id(), user=user, body=body)
        issue.comments.append(made)
        issue.updated_at = now()
        return made

    def find_comment(self, repo: Repo, comment_id: int) -> tuple[Issue, Comment]:
        for issue in repo.issues.values():
            for made in issue.comments:
                if made.id == comment_id:
                    return issue, made
        raise ForgeFault(404, "Not Found")

    def close(self, issue: Issue) -> None:
        issue.state = "closed"
        issue.closed_at = issue.updated_at = now()

    def edit(self, repo: Repo, issue: Issue, user: User, *, title: str | None,
             body: str | None, state: str | None) -> tuple[dict[str, dict[str, str]], str | None]:
        """Change an issue's or pull request's title, body or state, as its author or a
        triager may; what changed (GitHub's ``changes``) and the state it moved to, if any."""
        if user.login != issue.user.login:
            self.require(repo, user, "triage")
        if state not in {None, "open", "closed"}:
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "Issue", "code": "invalid", "field": "state"}])
        if title is not None and not title.strip():
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "Issue", "code": "missing_field", "field": "title"}])
        if issue.pull and issue.pull.merged_at and state == "open":
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "PullRequest", "code": "custom",
                               "message": "state cannot be changed. The pull request is merged."}])
        changes: dict[str, dict[str, str]] = {}
        if title is not None and title != issue.title:
            changes["title"] = {"from": issue.title}
            issue.title = title
        if body is not None and body != (issue.body or ""):
            changes["body"] = {"from": issue.body or ""}
            issue.body = body
        moved = state if state is not None and state != issue.state else None
        if moved == "closed":
            self.close(issue)
        elif moved == "open":
            issue.state, issue.closed_at = "open", None
        issue.updated_at = now()
        return changes, moved

    def merge(self, repo: Repo, issue: Issue, user: User, message: str | None) -> str:
        """Merge the pull request's head into its base with a real merge commit; its sha."""
        pull = issue.pull
        if pull is None or issue.state != "open":
            raise ForgeFault(405, "Pull Request is not mergeable")
        self.require(repo, user, "write")
        base_sha = self.branch_sha(repo, pull.base_ref)
        head_sha = self.branch_sha(repo, pull.head_ref)
        merged = run_git(repo.path, "merge-tree", "--write-tree", base_sha, head_sha)
        if merged.returncode != 0:
            raise ForgeFault(405, "Pull Request is not mergeable")
        tree = merged.stdout.split()[0]
        text = message or f"Merge pull request #{issue.number} from {pull.head_ref}"
        sha = git(repo.path, "-c", f"user.name={user.login}",
                  "-c", f"user.email={user.login}@users.noreply.forge", "commit-tree", tree,
                  "-p", base_sha, "-p", head_sha, "-m", text)
        git(repo.path, "update-ref", f"refs/heads/{pull.base_ref}", sha, base_sha)
        pull.merged_at, pull.merged_by, pull.merge_commit_sha = now(), user, sha
        self.close(issue)
        return sha

    def review(self, repo: Repo, issue: Issue, user: User, *, body: str, event: str,
               commit_id: str | None, comments: list[dict[str, object]]) -> Review:
        """Submit a review with its line comments in one go, as GitHub's endpoint does."""
        pull = issue.pull
        if pull is None:
            raise ForgeFault(404, "Not Found")
        self.require(repo, user, "read")
        states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                  "COMMENT": "COMMENTED"}
        if event not in states:
            raise ForgeFault(422, "Unprocessable Entity: event must be one of "
                             + ", ".join(states))
        if event != "APPROVE" and not body and not comments:
            raise ForgeFault(422, "Unprocessable Entity: a review needs a body or comments")
        commit = commit_id or pull.head_sha
        made = Review(id=self.next_id(), user=user, body=body, state=states[event],
                      commit_id=commit)
        lines = [self._line_comment(repo, made, commit, given) for given in comments]
        pull.reviews.append(made)
        pull.review_comments.extend(lines)
        issue.updated_at = now()
        return made

    def reply(self, repo: Repo, issue: Issue, user: User, *, comment_id: int,
              body: str) -> tuple[Review, ReviewComment]:
        """Answer a line comment in its thread: as on GitHub, the reply is a review of its own
        (commented, with no body) holding one comment on the thread's lines."""
        pull = issue.pull
        if pull is None:
            raise ForgeFault(404, "Not Found")
        self.require(repo, user, "read")
        found = next((made for made in pull.review_comments if made.id == comment_id), None)
        if found is None:
            raise ForgeFault(404, "Not Found")
        if not body.strip():
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "PullRequestReviewComment", "code": "missing_field",
                               "field": "body"}])
        root = found.in_reply_to or found.id
        made = Review(id=self.next_id(), user=user, body="", state="COMMENTED",
                      commit_id=found.commit_id)
        answer = ReviewComment(
            id=self.next_id(), review_id=made.id, user=user, body=body, path=found.path,
            commit_id=found.commit_id, line=found.line, side=found.side,
            start_line=found.start_line, start_side=found.start_side, in_reply_to=root)
        pull.reviews.append(made)
        pull.review_comments.append(answer)
        issue.updated_at = now()
        return made, answer

    def _line_comment(self, repo: Repo, review: Review, commit: str,
                      given: dict[str, object]) -> ReviewComment:
        path, line = given.get("path"), given.get("line")
        start_line = given.get("start_line")
        side = str(given.get("side") or "RIGHT")
        if not isinstance(path, str) or not isinstance(line, int) or line < 1 \
                or side not in {"LEFT", "RIGHT"}:
            raise ForgeFault(422, "Unprocessable Entity: a comment needs path, line and side")
        if start_line is not None and (not isinstance(start_line, int)
                                       or not 1 <= start_line < line):
            raise ForgeFault(422, "Unprocessable Entity: start_line must precede line")
        if run_git(repo.path, "cat-file", "-e", f"{commit}:{path}").returncode != 0:
            raise ForgeFault(422, "Unprocessable Entity: Path could not be resolved")
        start_side = given.get("start_side")
        return ReviewComment(
            id=self.next_id(), review_id=review.id, user=review.user,
            body=str(given.get("body") or ""), path=path, commit_id=commit, line=line,
            side=side, start_line=start_line,
            start_side=str(start_side or side) if start_line is not None else None)
