"""The web app: the original three-step demo (download, train, predict and share) on the user's machine.

    huggingtweets app                    # http://127.0.0.1:7860
    python -c "from huggingtweets.app import serve; serve(port=8000)"

Built on Starlette (served by uvicorn) with one hand-written HTML page and a little JavaScript, rather
than Gradio, the ecosystem's usual choice for demos. The page is small and fixed (three steps, a
table, a progress bar, ten posts with links), which plain HTML does well, and this choice:

- starts in well under a second and installs five small packages (``starlette``, ``uvicorn``,
  ``python-multipart``, and ``markdown-it-py`` and ``nh3`` for the card) instead of Gradio's hundred-odd
  megabytes;
- keeps each visitor's files apart by construction: a random session id in an HTTP-only cookie names
  (by its hash) the visitor's folder and no route takes a path from the request;
- leaves the long work to worker processes (``huggingtweets.app.runner``): training runs one job at a
  time in its own process, so the server never imports torch, a crash cannot take it down, and Cancel
  is a SIGTERM that the training loop turns into a checkpoint;
- is simple to drive from a real browser in tests (stable element ids, plain JSON endpoints).

Modules: ``server`` (the app and its routes), by step ``data_routes``, ``training_routes`` and
``model_routes`` (posts, preview, card, publish, download, delete), ``web`` (cookie, CSRF check),
``web_errors`` (errors in web words), ``views`` (what the page is shown), ``card_page`` (the card,
rendered and sanitised), ``my_data`` (the model's zip, deleting a session), ``sessions`` (per-visitor
folders, safe upload names), ``jobs`` (the training queue), ``steps`` (the pipeline calls of steps 1
and 3), ``rq_queue``, ``rq_steps`` and ``rq_worker`` (training, prepare and generate jobs on a queue on
Redis, ``--queue``, and its ``huggingtweets worker``), ``training_state`` (a job's end, and finding it
again after a restart), ``generation`` (warm generation workers), ``runner`` (the worker processes),
``share`` (share links that say the post is AI-generated), ``static/`` (the page).
"""

from __future__ import annotations

from .server import Settings, create_app, serve

__all__ = ["Settings", "create_app", "serve"]
