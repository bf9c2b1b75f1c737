{{ header }}
-- The {{ service }} service's own database, `{{ database }}`: the tables it owns and nothing else.
-- References to other services' tables are logical (see the column comments): there is no
-- foreign key across services.
{%- if !extensions.is_empty() %}

-- Extensions the column types need (trusted: the owner role running migrations may create them).
{%- for statement in extensions %}
{{ statement }}
{%- endfor %}
{%- endif %}
{%- for table in tables %}

CREATE TABLE {{ table.name }} (
{%- for line in table.lines %}
    {{ line }}{% if !loop.last %},{% endif %}
{%- endfor %}
);
{%- for statement in table.statements %}
{{ statement }}
{%- endfor %}
{%- endfor %}
{%- if !foreign_keys.is_empty() %}

-- Foreign keys inside this database, added once every table exists.
{%- for statement in foreign_keys %}
{{ statement }}
{%- endfor %}
{%- endif %}
