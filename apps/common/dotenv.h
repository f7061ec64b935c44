/* A .env file as python-dotenv reads it (the seed apps' load_dotenv()):
 * KEY=VALUE lines, optional `export `, # comments, values optionally in
 * single or double quotes. A variable already in the environment wins. */
#ifndef SLUICE_APPS_DOTENV_H
#define SLUICE_APPS_DOTENV_H

/* Loads path into the environment. Returns the number of variables set,
 * 0 when the file does not exist, -1 (with a message on stderr naming the
 * file and line) when a line is not KEY=VALUE. */
int dotenv_load(const char *path);

#endif
