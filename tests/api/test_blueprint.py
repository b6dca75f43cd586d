import flask_smorest
from flask import Flask
from flask.views import MethodView

from a2e.api.blueprint import Blueprint


def test_every_api_blueprint_documents_without_wrapping(app):
    smorest = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert smorest
    assert all(isinstance(bp, Blueprint) for bp in smorest)


def test_doc_and_alt_response_leave_the_view_itself_and_still_document_it():
    blp = Blueprint("things", __name__)
    seen = {}

    @blp.route("/things")
    class Things(MethodView):
        def post(self):
            return {"made": True}

        seen["view"] = post
        post = blp.doc(summary="Make a thing")(blp.alt_response(409, description="taken")(post))

    assert Things.post is seen["view"]  # documented, not wrapped
    web = Flask("t")
    web.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = flask_smorest.Api(web)
    api.register_blueprint(blp)
    operation = api.spec.to_dict()["paths"]["/things"]["post"]
    assert operation["summary"] == "Make a thing"
    assert operation["responses"]["409"]["description"] == "taken"
    assert web.test_client().post("/things").json == {"made": True}
