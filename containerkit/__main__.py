"""``python -m containerkit``: the same CLI as the ``containerkit`` command."""

from containerkit.cli import main

main()
