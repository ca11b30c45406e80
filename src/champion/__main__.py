"""python -m champion"""

from champion.cli.main import main

main()
