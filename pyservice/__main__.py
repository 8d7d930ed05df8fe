"""``python -m pyservice`` is the ``sidian`` command."""

from pyservice.cli import main

if __name__ == "__main__":
    main(prog_name="sidian")
