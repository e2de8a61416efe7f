from hftcore.cli import main

raise SystemExit(main())
