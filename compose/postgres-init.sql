-- One database per service (DESIGN.md §4); each service migrates its own at start-up.
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE inventory;
