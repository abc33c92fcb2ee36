"""Weights from the Hugging Face Hub: download, verify, cache, publish.

Everything goes through the real ``huggingface_hub`` client and its cache (``HF_HOME`` /
``HF_HUB_CACHE``), so files zoo fetched are shared with every other Hub library. zoo adds what the
client leaves optional: every registry download is checked against the sha256 pinned in its
WeightsSpec, a corrupt cached file is fetched again, and an offline miss says what to do.

``HF_ENDPOINT``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` are read when a call is made (the client
reads them once, at import), so a test or a notebook can change them at run time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from zoo.errors import CorruptWeightsError, HubError, OfflineError
from zoo.hashing import sha256_of, verify_file
from zoo.specs import WeightsSpec

_TRUE = {"1", "true", "yes", "on"}


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE


def endpoint() -> str | None:
    value = os.environ.get("HF_ENDPOINT")
    return value.rstrip("/") if value else None


def hub_cache_dir() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None  # the client's default


def network_errors() -> tuple[type[BaseException], ...]:
    """What a failed connection raises: OSError, or the client's HTTP library's transport error
    (httpx under huggingface_hub 1.x, httpx2 under 2.x), which is not an OSError."""
    errors: list[type[BaseException]] = [OSError]
    for name in ("httpx", "httpx2"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "TransportError"):
            errors.append(module.TransportError)
    return tuple(errors)


def _client_call(function, what: str, **kwargs):
    from huggingface_hub import errors as hub_errors

    kwargs.setdefault("endpoint", endpoint())
    kwargs.setdefault("cache_dir", hub_cache_dir())
    if offline():
        kwargs["local_files_only"] = True
    try:
        return function(**kwargs)
    except hub_errors.LocalEntryNotFoundError as error:
        if offline():
            raise OfflineError(
                f"{what} is not in the cache and HF_HUB_OFFLINE is set (cache: {kwargs['cache_dir'] or 'default'}). "
                f"Fetch it once while online (e.g. `zoo download`), or unset HF_HUB_OFFLINE."
            ) from None
        raise HubError(f"could not fetch {what} from {kwargs['endpoint'] or 'the Hub'}: {error}") from None
    except hub_errors.RepositoryNotFoundError:
        raise HubError(f"{what}: repository not found on {kwargs['endpoint'] or 'the Hub'}") from None
    except hub_errors.RevisionNotFoundError:
        raise HubError(f"{what}: revision not found") from None
    except hub_errors.EntryNotFoundError:
        raise HubError(f"{what}: file not found in the repository") from None
    except hub_errors.HfHubHTTPError as error:
        raise HubError(f"{what}: the Hub answered {error}") from None
    except network_errors() as error:  # connection refused, DNS, timeouts
        raise HubError(f"{what}: could not reach {kwargs['endpoint'] or 'the Hub'} ({error})") from None


def fetch_weights(weights: WeightsSpec, model_name: str, *, verify_full: bool = False,
                  progress: bool = False) -> Path:
    """Download (or find in the cache) a registry weights file and check its sha256.

    A cached file whose content no longer matches is fetched again; a file that still does not
    match after a fresh download is an error, never loaded. ``progress=True`` (``zoo download``)
    draws a bar labelled with the model on a terminal.
    """
    from huggingface_hub import hf_hub_download

    what = f"weights {model_name}.{weights.tag} ({weights.repo_id}@{weights.revision[:12]}/{weights.filename})"
    arguments = dict(repo_id=weights.repo_id, filename=weights.filename, revision=weights.revision)
    if progress:
        arguments["tqdm_class"] = _progress_bar(f"{model_name}.{weights.tag}")
    path = Path(_client_call(hf_hub_download, what, **arguments))
    if verify_file(path, weights.sha256, full=verify_full):
        return path
    if offline():
        evict(path)
        raise CorruptWeightsError(
            f"{what}: the cached file {path} does not match its pinned sha256 and HF_HUB_OFFLINE is set, "
            "so it cannot be fetched again. Go online and run `zoo download` to repair the cache."
        )
    path = Path(_client_call(hf_hub_download, what, force_download=True, **arguments))
    if not verify_file(path, weights.sha256, full=True):
        actual = sha256_of(path)
        evict(path)
        raise CorruptWeightsError(
            f"{what}: sha256 is {actual}, expected {weights.sha256}. The file on the Hub differs from the one "
            "this model's plugin pinned; it was not loaded."
        )
    return path


def _progress_bar(label: str):
    """A bar class for the client's ``tqdm_class``: labelled with the model rather than the
    snapshot path, and sized by Python's terminal query. tqdm asks the terminal itself, and on one
    that reports a size of 0 x 0 (a pseudo-terminal nobody sized) it takes -1 rows and draws only
    an empty line; :func:`shutil.get_terminal_size` falls back to 80 x 24 there. Refreshed every
    megabyte instead of every 10 MB chunk the client reads by default, so a file of a few MB
    shows progress."""
    import shutil

    from huggingface_hub import constants
    from huggingface_hub.utils import tqdm

    size = shutil.get_terminal_size()
    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, 1 << 20)

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.update(desc=label, ncols=size.columns, nrows=size.lines)
            super().__init__(*args, **kwargs)

    return Bar


def evict(pointer: Path) -> None:
    """Remove a downloaded file that failed its sha256, and the snapshot entry pointing at it.

    The client names a blob after the ETag the Hub announced (for a weights file, the sha256 of
    the bytes it *should* serve), so bad bytes would otherwise sit under the good file's name and
    every library sharing the cache would trust them. Other snapshots linking the same blob are
    left dangling, which the client treats as "not cached" and downloads again.
    """
    blob = pointer.resolve()
    for item in (pointer, blob):
        try:
            item.unlink()
        except FileNotFoundError:
            pass


def fetch_repo(repo_id: str, revision: str | None, patterns: tuple[str, ...] = (
        "config.json", "*.safetensors", "README.md", "*.bin", "*.pt", "*.pth", "*.ckpt")) -> Path:
    """Download the files zoo reads from a repo written by :func:`zoo.save` / :func:`zoo.publish`."""
    from huggingface_hub import snapshot_download

    what = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
    folder = _client_call(snapshot_download, what, repo_id=repo_id, revision=revision, allow_patterns=list(patterns))
    return Path(folder)


def publish_folder(folder: Path, repo_id: str, *, revision: str | None, private: bool | None,
                   commit_message: str, token: str | None) -> str:
    """Create the repo if needed and upload the folder as one commit; returns the commit id."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hub_errors

    api = HfApi(endpoint=endpoint(), token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), revision=revision, commit_message=commit_message,
            allow_patterns=["config.json", "model.safetensors", "README.md"],
        )
    except hub_errors.HfHubHTTPError as error:
        raise HubError(f"publishing to {repo_id} failed: {error}") from None
    except network_errors() as error:
        raise HubError(f"publishing to {repo_id} failed: could not reach {endpoint() or 'the Hub'} ({error})") from None
    return info.oid
