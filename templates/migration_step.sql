{%- if no_transaction %}-- no-transaction
{% endif -%}
{{ header }}
-- {{ purpose }}
SET lock_timeout = '{{ lock_timeout }}';
SET statement_timeout = '{{ statement_timeout }}';
{%- for block in blocks %}

{{ block }}
{%- endfor %}
