import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own HUGGINGTWEETS_HOME and HOME: tests never touch the user's files."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HUGGINGTWEETS_HOME", str(home / ".huggingtweets"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("HUGGINGTWEETS_DEBUG", raising=False)
    return home
